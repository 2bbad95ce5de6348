//! `cruddur rds update-sg-rule` against moto's EC2.

use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_ec2::Client;

use crate::harness::{cruddur, http_stub, moto_config, runtime, Run};
use crate::reports::SgRuleReport;

pub(crate) struct Rule {
    pub group: String,
    pub rule: String,
}

/// A security group with one ingress rule, tcp/5432 from 1.2.3.4/32.
pub(crate) fn rule() -> Rule {
    let rt = runtime();
    let client = Client::new(&moto_config());
    rt.block_on(async {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let group = client
            .create_security_group()
            .group_name(format!("rds-{n}"))
            .description("the RDS instance")
            .send()
            .await
            .unwrap()
            .group_id()
            .unwrap()
            .to_string();
        let added = client
            .authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(5432)
                    .to_port(5432)
                    .ip_ranges(
                        IpRange::builder()
                            .cidr_ip("1.2.3.4/32")
                            .description("old")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let rule = added.security_group_rules()[0]
            .security_group_rule_id()
            .unwrap()
            .to_string();
        Rule { group, rule }
    })
}

impl Rule {
    /// (cidr, description) as EC2 has them now.
    pub(crate) fn read(&self) -> (String, String) {
        let rt = runtime();
        let client = Client::new(&moto_config());
        rt.block_on(async {
            let out = client
                .describe_security_group_rules()
                .security_group_rule_ids(&self.rule)
                .send()
                .await
                .unwrap();
            let rule = &out.security_group_rules()[0];
            (
                rule.cidr_ipv4().unwrap_or("").to_string(),
                rule.description().unwrap_or("").to_string(),
            )
        })
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["rds", "update-sg-rule"];
        all.extend_from_slice(args);
        cruddur(&all)
            .aws()
            .env("DB_SG_ID", &self.group)
            .env("DB_SG_RULE_ID", &self.rule)
    }
}

#[test]
fn update_sg_rule_points_the_rule_at_the_ip_and_is_idempotent() {
    let rule = rule();
    let done: SgRuleReport = rule.run(&["--ip", "34.1.2.3", "--json"]).run().json();
    assert!(done.changed);
    assert_eq!(done.before.cidr.as_deref(), Some("1.2.3.4/32"));
    assert_eq!(done.after.cidr.as_deref(), Some("34.1.2.3/32"));
    assert_eq!(done.ip, "34.1.2.3");
    assert_eq!(rule.read(), ("34.1.2.3/32".into(), "GITPOD".into()));

    rule.run(&["--ip", "34.1.2.3"])
        .stdout_has("already allows")
        .stdout_has("nothing changed")
        .run();
    rule.run(&[])
        .env("GITPOD_IP", "35.9.9.9")
        .stdout_has("→")
        .run();
    assert_eq!(rule.read().0, "35.9.9.9/32");
}

#[test]
fn garbage_ips_are_refused_and_change_nothing() {
    let rule = rule();
    for bad in ["not-an-ip", "10.0.0.7", "34.1.2.3/32", "127.0.0.1"] {
        rule.run(&["--ip", bad])
            .code(1)
            .stderr_has("nothing was changed")
            .stdout_is("")
            .run();
    }
    let stub = http_stub("<html>Service Unavailable</html>", 1);
    rule.run(&[])
        .env("CRUDDUR_IP_URL", &stub)
        .code(1)
        .stderr_has("which is not an IPv4 address")
        .stdout_is("")
        .run();
    assert_eq!(rule.read(), ("1.2.3.4/32".into(), "old".into()));
}

#[test]
fn the_ip_is_looked_up_when_not_given() {
    let rule = rule();
    let stub = http_stub("52.95.110.1\n", 1);
    rule.run(&["--ip-url", &stub]).run();
    assert_eq!(rule.read().0, "52.95.110.1/32");
}

#[test]
fn missing_ids_name_the_variables() {
    cruddur(&["rds", "update-sg-rule", "--ip", "34.1.2.3"])
        .aws()
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: the RDS instance's security group (sg-…) is not given: set DB_SG_ID or \
            pass --group-id\n",
        )
        .run();
    cruddur(&[
        "rds",
        "update-sg-rule",
        "--ip",
        "34.1.2.3",
        "--group-id",
        "sg-1",
    ])
    .aws()
    .code(1)
    .stdout_is("")
    .stderr_is(
        "error: the security group's ingress rule (sgr-…) is not given: set DB_SG_RULE_ID or \
        pass --rule-id\n",
    )
    .run();
}
