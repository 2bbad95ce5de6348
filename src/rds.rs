//! `cruddur rds update-sg-rule`: point the RDS security group's one ingress rule at this
//! workspace's public IP, so the developer can reach the production database. Run at every
//! workspace start. EC2 has no local stand-in: both modes use the SDK's default chain.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{anyhow, Result};
#[cfg(feature = "ec2")]
use aws_sdk_ec2::types::{
    Filter, SecurityGroupRule, SecurityGroupRuleRequest, SecurityGroupRuleUpdate,
};
#[cfg(feature = "ec2")]
use serde::Serialize;

use crate::cli::{RdsCommand, SgRuleArgs};
use crate::ctx::Ctx;
#[cfg(feature = "ec2")]
use crate::guard::{Destination, Plan};
#[cfg(feature = "ec2")]
use crate::guarded::{self, Prepared};
#[cfg(feature = "ec2")]
use crate::ops::{Ec2Op, Rule};
use crate::output::Outcome;

/// A rule as EC2 describes it.
#[cfg(feature = "ec2")]
fn rule_of(rule: &SecurityGroupRule) -> Rule {
    Rule {
        protocol: rule.ip_protocol().map(String::from),
        from_port: rule.from_port(),
        to_port: rule.to_port(),
        cidr: rule.cidr_ipv4().map(String::from),
        description: rule.description().map(String::from),
    }
}

pub(crate) fn run(ctx: &Ctx, command: &RdsCommand) -> Result<Outcome> {
    match command {
        RdsCommand::UpdateSgRule(args) => update_sg_rule(ctx, args),
    }
}

#[cfg(not(feature = "ec2"))]
fn update_sg_rule(_ctx: &Ctx, _args: &SgRuleArgs) -> Result<Outcome> {
    Err(crate::error::missing_feature("ec2", "EC2 support"))
}

#[cfg(feature = "ec2")]
fn update_sg_rule(ctx: &Ctx, args: &SgRuleArgs) -> Result<Outcome> {
    let group_id = required(
        &args.group_id,
        "DB_SG_ID",
        "--group-id",
        "the RDS instance's security group (sg-…)",
    )?;
    let rule_id = required(
        &args.rule_id,
        "DB_SG_RULE_ID",
        "--rule-id",
        "the security group's ingress rule (sgr-…)",
    )?;
    let ip = match &args.ip {
        Some(ip) => public_ipv4(ip)
            .map_err(|why| anyhow!("--ip / GITPOD_IP `{ip}` {why}; nothing was changed"))?,
        None => look_up_ip(ctx, &args.ip_url)?,
    };
    let wanted = Rule {
        protocol: Some("tcp".into()),
        from_port: Some(i32::from(args.port)),
        to_port: Some(i32::from(args.port)),
        cidr: Some(format!("{ip}/32")),
        description: Some(args.description.clone()),
    };
    let (client, service) = ctx.ec2(args.ec2_endpoint_url.as_deref())?;
    let (region, endpoint) = (service.region, service.endpoint);
    let destination = Destination::Aws {
        service: "EC2",
        region: region.clone(),
        endpoint: endpoint.clone(),
    };
    ctx.local_only(&destination)?;
    let place = endpoint.map_or_else(|| format!("EC2 in {region}"), |e| format!("EC2 at {e}"));
    ctx.info(format!(
        "EC2 security group {group_id}, rule {rule_id}, in {region}"
    ));
    let before = ctx.block_on(read_rule(&client, &place, group_id, rule_id))??;
    let prepared = if before == wanted {
        Prepared::Nothing(RuleReport {
            group_id: group_id.to_string(),
            rule_id: rule_id.to_string(),
            ip: ip.to_string(),
            changed: false,
            after: before.clone(),
            before,
        })
    } else {
        Prepared::Write(ModifyRule {
            ec2: Rules {
                client,
                place,
                recorder: None,
            },
            destination,
            group_id,
            rule_id,
            ip,
            before,
            wanted,
        })
    };
    guarded::run(ctx, prepared)
}

/// ModifySecurityGroupRules of the one rule, then the rule read back.
#[cfg(feature = "ec2")]
struct ModifyRule<'a> {
    ec2: Rules,
    destination: Destination,
    group_id: &'a str,
    rule_id: &'a str,
    ip: Ipv4Addr,
    before: Rule,
    wanted: Rule,
}

#[cfg(feature = "ec2")]
#[derive(Debug, Serialize)]
struct RuleReport {
    group_id: String,
    rule_id: String,
    ip: String,
    changed: bool,
    before: Rule,
    after: Rule,
}

#[cfg(feature = "ec2")]
impl guarded::Report for RuleReport {}

#[cfg(feature = "ec2")]
impl std::fmt::Display for RuleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        if self.changed {
            write!(f, "rule {}: {} → {}", self.rule_id, self.before, self.after)
        } else {
            write!(
                f,
                "rule {} already allows {}; nothing changed",
                self.rule_id, self.before
            )
        }
    }
}

#[cfg(feature = "ec2")]
impl guarded::Write for ModifyRule<'_> {
    type Report = RuleReport;

    fn plan(&self) -> Plan {
        Plan::new(
            self.destination.clone(),
            format!(
                "rewrite ingress rule {} of security group {}",
                self.rule_id, self.group_id
            ),
            vec![Ec2Op::ModifySecurityGroupRule {
                group_id: self.group_id.to_string(),
                rule_id: self.rule_id.to_string(),
                before: self.before.clone(),
                after: self.wanted.clone(),
            }
            .into()],
            self.rule_id.to_string(),
        )
    }

    fn execute(self, ctx: &Ctx) -> Result<RuleReport> {
        let after = ctx.block_on(self.ec2.modify(
            self.group_id,
            self.rule_id,
            &self.before,
            &self.wanted,
        ))??;
        Ok(RuleReport {
            group_id: self.group_id.to_string(),
            rule_id: self.rule_id.to_string(),
            ip: self.ip.to_string(),
            changed: true,
            before: self.before,
            after,
        })
    }
}

/// The security group's rules: what `update-sg-rule` performs, an [`Ec2Op`] at a time. A
/// recording one (unit tests) keeps each operation instead of sending it.
#[cfg(feature = "ec2")]
struct Rules {
    client: aws_sdk_ec2::Client,
    /// Where EC2 is, in words.
    place: String,
    recorder: Option<std::sync::Arc<std::sync::Mutex<Vec<Ec2Op>>>>,
}

#[cfg(feature = "ec2")]
impl Rules {
    /// ModifySecurityGroupRules of the one rule from `before` to `after`, then the rule as
    /// EC2 reads it back (a recording store answers `after`).
    async fn modify(
        &self,
        group_id: &str,
        rule_id: &str,
        before: &Rule,
        after: &Rule,
    ) -> Result<Rule> {
        if let Some(recorder) = &self.recorder {
            recorder
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(Ec2Op::ModifySecurityGroupRule {
                    group_id: group_id.to_string(),
                    rule_id: rule_id.to_string(),
                    before: before.clone(),
                    after: after.clone(),
                });
            return Ok(after.clone());
        }
        let port = after.from_port.unwrap_or_default();
        let update = SecurityGroupRuleRequest::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .set_cidr_ipv4(after.cidr.clone())
            .set_description(after.description.clone())
            .build();
        self.client
            .modify_security_group_rules()
            .group_id(group_id)
            .security_group_rules(
                SecurityGroupRuleUpdate::builder()
                    .security_group_rule_id(rule_id)
                    .security_group_rule(update)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| crate::aws::explain("ModifySecurityGroupRules", &self.place, &e))?;
        read_rule(&self.client, &self.place, group_id, rule_id).await
    }
}

#[cfg_attr(not(feature = "ec2"), allow(dead_code))]
fn required<'a>(
    value: &'a Option<String>,
    variable: &str,
    flag: &str,
    what: &str,
) -> Result<&'a str> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| anyhow!("{what} is not given: set {variable} or pass {flag}"))
}

#[cfg(feature = "ec2")]
async fn read_rule(
    client: &aws_sdk_ec2::Client,
    place: &str,
    group_id: &str,
    rule_id: &str,
) -> Result<Rule> {
    let output = client
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group_id).build())
        .security_group_rule_ids(rule_id)
        .send()
        .await
        .map_err(|e| crate::aws::explain("DescribeSecurityGroupRules", place, &e))?;
    let rule = output
        .security_group_rules()
        .iter()
        .find(|r| r.security_group_rule_id() == Some(rule_id))
        .ok_or_else(|| {
            anyhow!(
                "security group {group_id} has no rule {rule_id}: check DB_SG_ID and DB_SG_RULE_ID"
            )
        })?;
    if rule.is_egress() == Some(true) {
        return Err(anyhow!(
            "rule {rule_id} is an egress rule; DB_SG_RULE_ID must name the ingress rule"
        ));
    }
    Ok(rule_of(rule))
}

/// This machine's public IP, from a page that answers with it (checkip.amazonaws.com by
/// default). Whatever comes back must be a public IPv4 address, or nothing goes further.
#[cfg_attr(not(feature = "ec2"), allow(dead_code))]
fn look_up_ip(ctx: &Ctx, url: &str) -> Result<Ipv4Addr> {
    ctx.detail(format!("looking this machine's public IP up at {url}"));
    // The proxy for this URL's scheme, decided as for the AWS calls (ureq's own would take
    // one proxy for every scheme).
    let proxy = crate::proxy::for_url(url)
        .map(|p| {
            ureq::Proxy::new(&p.url).map_err(|e| anyhow!("{} is not a proxy URL: {e}", p.variable))
        })
        .transpose()?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .proxy(proxy)
        .build()
        .into();
    let body = agent
        .get(url)
        .call()
        .and_then(|mut response| {
            response
                .body_mut()
                .with_config()
                .limit(1024)
                .read_to_string()
        })
        .map_err(|e| {
            let via = crate::proxy::for_url(url)
                .map(|p| format!(" through {p}"))
                .unwrap_or_default();
            anyhow!(
                "could not look the public IP up at {url}{via}: {e}; pass --ip (or GITPOD_IP) instead"
            )
        })?;
    public_ipv4(body.trim()).map_err(|why| {
        anyhow!(
            "{url} answered `{}`, which {why}; nothing was changed (pass --ip, or set CRUDDUR_IP_URL to a page that answers with the IP)",
            crate::text::cut(body.trim(), 60)
        )
    })
}

/// A public IPv4 address, or why not.
pub(crate) fn public_ipv4(text: &str) -> std::result::Result<Ipv4Addr, &'static str> {
    let ip: Ipv4Addr = text.trim().parse().map_err(|_| "is not an IPv4 address")?;
    let [a, b, ..] = ip.octets();
    let special = ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b));
    if special {
        Err("is not a public address")
    } else {
        Ok(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_ipv4_addresses_pass() {
        assert_eq!(public_ipv4("34.1.2.3"), Ok(Ipv4Addr::new(34, 1, 2, 3)));
        assert_eq!(
            public_ipv4(" 52.95.110.1\n"),
            Ok(Ipv4Addr::new(52, 95, 110, 1))
        );
        for bad in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "100.64.0.1",
            "192.0.2.7",
            "240.0.0.1",
        ] {
            assert_eq!(public_ipv4(bad), Err("is not a public address"), "{bad}");
        }
        for garbage in [
            "",
            "1.2.3",
            "1.2.3.4/32",
            "::1",
            "<html>",
            "1.2.3.4; rm -rf /",
            "300.1.1.1",
        ] {
            assert_eq!(
                public_ipv4(garbage),
                Err("is not an IPv4 address"),
                "{garbage}"
            );
        }
    }

    /// The one rule rewritten from what EC2 said it was to what this workspace needs.
    #[cfg(feature = "ec2")]
    #[test]
    fn a_rule_update_performs_what_it_planned() {
        use crate::ctx::Target;
        use crate::guarded::planned_and_performed;
        let config = aws_sdk_ec2::Config::builder()
            .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
            .region(aws_sdk_ec2::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let recorder = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let rule = |cidr: &str| Rule {
            protocol: Some("tcp".into()),
            from_port: Some(5432),
            to_port: Some(5432),
            cidr: Some(cidr.into()),
            description: Some("GITPOD".into()),
        };
        let write = ModifyRule {
            ec2: Rules {
                client: aws_sdk_ec2::Client::from_conf(config),
                place: "EC2 in us-east-1".into(),
                recorder: Some(recorder.clone()),
            },
            destination: Destination::Aws {
                service: "EC2",
                region: "us-east-1".into(),
                endpoint: None,
            },
            group_id: "sg-0123",
            rule_id: "sgr-0456",
            ip: Ipv4Addr::new(34, 1, 2, 3),
            before: rule("52.95.110.1/32"),
            wanted: rule("34.1.2.3/32"),
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Prod), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 1);
    }

    #[test]
    fn missing_ids_name_the_variable_and_flag() {
        let err = required(&None, "DB_SG_ID", "--group-id", "the group")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DB_SG_ID") && err.contains("--group-id"),
            "{err}"
        );
        assert!(required(&Some("  ".into()), "X", "--x", "it").is_err());
    }
}
