//! The one guard every write passes, as a pure decision: a [`Policy`] (the flags that bear on
//! it), a [`Plan`] (where the write goes, what it will do) and the database's [`Marker`] go
//! in; a [`Decision`] comes out. Nothing here prints, prompts or connects: `guarded` carries
//! the decision out. The order of the checks lives here and nowhere else:
//!
//! 1. *Where is this going?* A plan scoped to the local stack ([`Scope::LocalOnly`]: the
//!    rebuilds from scratch) is refused in `--prod` ([`scope_allows`]); local mode writes only
//!    to local hosts and never to an AWS endpoint ([`local_only`]).
//! 2. *Does the database say where it belongs?* A local-mode write refuses a database marked
//!    `prod` by `cruddur --prod db schema-load`, unless `--override-prod-marker`.
//! 3. `--dry-run` stops here and shows the plan.
//! 4. *Confirmation* in `--prod`: `--yes`, or a person at a terminal who types the name;
//!    otherwise refused (exit 3).

use crate::hosts::{endpoint_host, is_aws_host, is_local_host};
use crate::ops::Op;
use crate::target::Target;

/// Where a write goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// A Postgres database; `hosts` are every host of the URL (a Unix socket's folder too).
    Postgres {
        hosts: Vec<String>,
        server: String,
        database: String,
    },
    /// A DynamoDB table behind an endpoint.
    DynamoDb { endpoint: String, table: String },
    /// A file of the workspace (a new migration): never production, never remote.
    File { path: String },
    /// Another AWS service (EC2) in a region; `endpoint` when an emulator's is named.
    #[cfg_attr(not(feature = "ec2"), allow(dead_code))]
    Aws {
        service: &'static str,
        region: String,
        endpoint: Option<String>,
    },
}

impl Destination {
    pub(crate) fn describe(&self) -> String {
        match self {
            Destination::Postgres {
                server, database, ..
            } => format!("Postgres database `{database}` at {server}"),
            Destination::DynamoDb { endpoint, table } => {
                format!("DynamoDB table `{table}` at {endpoint}")
            }
            Destination::File { path } => format!("the file {path}"),
            Destination::Aws {
                service,
                endpoint: Some(endpoint),
                ..
            } => format!("{service} at {endpoint}"),
            Destination::Aws {
                service, region, ..
            } => format!("{service} in {region}"),
        }
    }
}

/// Which targets a plan may run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Local or production, as the flags say.
    Any,
    /// The local stack only: this command, and why it is the local stack's alone (the rest of
    /// the refusal's sentence, with what to do in production).
    LocalOnly {
        command: &'static str,
        why: &'static str,
    },
}

/// What a writing command is about to do, built before anything is touched.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) destination: Destination,
    pub(crate) scope: Scope,
    /// One line: what, on what (`drop database `x``).
    pub(crate) summary: String,
    /// Every statement or API call, in order: what `execute` performs.
    pub(crate) ops: Vec<Op>,
    /// What a person types to confirm in production (the database, table or rule).
    pub(crate) confirm: String,
    /// Why a person must confirm this even locally (it puts production's personal data on
    /// this machine: `pull --no-mask`); None for every other plan.
    pub(crate) exposes: Option<&'static str>,
}

impl Plan {
    /// A plan that may run against either target.
    pub(crate) fn new(
        destination: Destination,
        summary: String,
        ops: Vec<Op>,
        confirm: impl Into<String>,
    ) -> Plan {
        Plan {
            destination,
            scope: Scope::Any,
            summary,
            ops,
            confirm: confirm.into(),
            exposes: None,
        }
    }

    /// What, where: the line a dry run and a confirmation start with.
    pub(crate) fn said(&self) -> String {
        format!("{} ({})", self.summary, self.destination.describe())
    }

    /// The operations' lines, in order, as a person reads them.
    pub(crate) fn actions(&self) -> Vec<String> {
        self.ops.iter().flat_map(Op::lines).collect()
    }
}

/// The flags that bear on the guard, and whether a person can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) target: Target,
    pub(crate) dry_run: bool,
    /// `--yes`.
    pub(crate) yes: bool,
    /// A person at a terminal can type a confirmation.
    pub(crate) interactive: bool,
    pub(crate) override_prod_marker: bool,
    pub(crate) allow_remote_host: bool,
}

/// The environment a Postgres database says it belongs to, as the command read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Marker {
    /// Not a Postgres write: there is no marker to read.
    NotApplicable,
    /// The database carries no marker, or another one than `prod`.
    Unmarked,
    /// `cruddur --prod db schema-load` marked it.
    Prod,
    /// The marker could not be read, and why.
    Unreadable(String),
}

impl Marker {
    /// The marker as a command read it: `Err` when it could not be read.
    pub(crate) fn read(read: &anyhow::Result<Option<String>>) -> Marker {
        match read {
            Ok(Some(mark)) if mark == Target::Prod.name() => Marker::Prod,
            Ok(_) => Marker::Unmarked,
            Err(error) => Marker::Unreadable(format!("{error:#}")),
        }
    }
}

/// What the guard decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Refused, and why (exit 3).
    Refuse(String),
    /// Cannot be decided: the marker could not be read (exit 1), and why.
    Fail(String),
    /// `--dry-run`: show the plan and do nothing.
    DryRun,
    /// A person must type the plan's `confirm` name first.
    Confirm,
    /// Go ahead.
    Execute,
}

/// The guard, in its order.
pub(crate) fn decide(policy: &Policy, plan: &Plan, marker: &Marker) -> Decision {
    if let Err(why) = scope_allows(policy.target, plan.scope) {
        return Decision::Refuse(why);
    }
    if policy.target == Target::Local {
        if let Err(why) = local_only(policy, &plan.destination) {
            return Decision::Refuse(why);
        }
        match marker {
            Marker::Prod if !policy.override_prod_marker => {
                return Decision::Refuse(format!(
                    "{} is marked as production (by `cruddur --prod db schema-load`), but this is \
                     local mode: refusing to {}. If CONNECTION_URL points there by mistake, fix it; \
                     if you really mean it, add --override-prod-marker",
                    plan.destination.describe(),
                    plan.summary
                ))
            }
            Marker::Unreadable(why) if !policy.dry_run => return Decision::Fail(why.clone()),
            _ => {}
        }
    }
    if policy.dry_run {
        return Decision::DryRun;
    }
    // Personal data onto this machine: a person at a terminal says so, in either mode; --yes
    // does not stand in for them.
    if let Some(why) = plan.exposes {
        return if policy.interactive {
            Decision::Confirm
        } else {
            Decision::Refuse(format!(
                "refusing to {} without a person at a terminal to confirm it: {why}; --yes does \
                 not stand in for that. Leave masking on, or run it at a terminal",
                plan.summary
            ))
        };
    }
    // A file of the workspace is written in either mode: it is not production's.
    if matches!(plan.destination, Destination::File { .. }) {
        return Decision::Execute;
    }
    match (policy.target, policy.yes, policy.interactive) {
        (Target::Local, _, _) | (Target::Prod, true, _) => Decision::Execute,
        (Target::Prod, false, true) => Decision::Confirm,
        (Target::Prod, false, false) => Decision::Refuse(format!(
            "refusing to {} ({}) in production without confirmation: re-run with --yes",
            plan.summary,
            plan.destination.describe()
        )),
    }
}

/// Why the rebuilds from scratch (`setup`, `db setup`) are the local stack's alone.
pub(crate) const REBUILDS: &str =
    "rebuilds the stores from scratch and runs on the local stack only; \
     in production run the one step you mean (e.g. `cruddur --prod db schema-load`)";

/// Rule 1's first half, alone: a command scoped to the local stack checks it before it reads
/// or connects to anything, and the guard checks it again on the plan.
pub(crate) fn scope_allows(target: Target, scope: Scope) -> Result<(), String> {
    match (target, scope) {
        (Target::Prod, Scope::LocalOnly { command, why }) => Err(format!("`{command}` {why}")),
        _ => Ok(()),
    }
}

/// Rule 1 alone, for reads too: local mode never reaches a remote store. The refusal, in words.
pub(crate) fn local_only(policy: &Policy, destination: &Destination) -> Result<(), String> {
    if policy.target != Target::Local {
        return Ok(());
    }
    match destination {
        Destination::Postgres { hosts, .. } => {
            for host in hosts {
                if is_aws_host(host) || !(is_local_host(host) || policy.allow_remote_host) {
                    return Err(format!(
                        "CONNECTION_URL points at `{host}`, which is not a local host, but this is \
                         local mode: nothing was done. For production add --prod (it reads \
                         PROD_CONNECTION_URL); for a development database on purpose on another \
                         host, add --allow-remote-host{}",
                        if is_aws_host(host) {
                            " (never for an AWS host)"
                        } else {
                            ""
                        }
                    ));
                }
            }
            Ok(())
        }
        Destination::DynamoDb { endpoint, .. } => {
            refuse_aws_endpoint(endpoint, "the DynamoDB endpoint")
        }
        Destination::File { .. } => Ok(()),
        Destination::Aws {
            service, endpoint, ..
        } => match endpoint.as_deref().map(|e| (e, endpoint_host(e))) {
            Some((_, Some(host))) if !is_aws_host(&host) => Ok(()),
            _ => Err(format!(
                "this changes {service} in your AWS account, but this is local mode: nothing was \
                 done. Add --prod (and --yes without a terminal) if you mean it"
            )),
        },
    }
}

/// Local mode never sends DynamoDB work to AWS: `endpoint` (named by `source`) must not be on
/// an AWS domain, in any case or partition.
pub(crate) fn refuse_aws_endpoint(endpoint: &str, source: &str) -> Result<(), String> {
    match endpoint_host(endpoint) {
        Some(host) if is_aws_host(&host) => Err(format!(
            "{source} `{endpoint}` is AWS, but this is local mode, which never talks to AWS: \
             nothing was done; add --prod if you mean production"
        )),
        Some(_) => Ok(()),
        None => Err(format!(
            "{source} `{endpoint}` names no host: write it as http://host:port"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(destination: Destination) -> Plan {
        Plan::new(
            destination,
            "do it".into(),
            vec![crate::ops::DdbOp::NoBackup.into()],
            "name",
        )
    }

    fn postgres(host: &str) -> Destination {
        Destination::Postgres {
            hosts: vec![host.into()],
            server: format!("{host}:5432"),
            database: "cruddur".into(),
        }
    }

    fn dynamodb(endpoint: &str) -> Destination {
        Destination::DynamoDb {
            endpoint: endpoint.into(),
            table: "cruddur-messages".into(),
        }
    }

    /// Every combination of target, marker, dry run, --yes and terminal, for each kind of
    /// destination: what the guard must decide.
    #[test]
    fn the_decision_for_every_combination() {
        use Decision::*;
        let destinations = [
            ("local db", postgres("localhost"), true),
            ("remote db", postgres("db.example.com"), false),
            ("rds", postgres("x.rds.amazonaws.com"), false),
            ("local ddb", dynamodb("http://localhost:8000"), true),
            (
                "aws ddb",
                dynamodb("https://dynamodb.us-east-1.amazonaws.com"),
                false,
            ),
            (
                "workspace file",
                Destination::File {
                    path: "db/migrations/1_x.py".into(),
                },
                true,
            ),
        ];
        let markers = [
            Marker::NotApplicable,
            Marker::Unmarked,
            Marker::Prod,
            Marker::Unreadable("no connection".into()),
        ];
        let mut cases = 0;
        for (name, destination, local_host) in &destinations {
            for marker in &markers {
                for target in [Target::Local, Target::Prod] {
                    for bits in 0..16u8 {
                        let policy = Policy {
                            target,
                            dry_run: bits & 1 != 0,
                            yes: bits & 2 != 0,
                            interactive: bits & 4 != 0,
                            override_prod_marker: bits & 8 != 0,
                            allow_remote_host: false,
                        };
                        let got = decide(&policy, &plan(destination.clone()), marker);
                        let expected = match target {
                            Target::Local if !local_host => "refuse",
                            Target::Local
                                if *marker == Marker::Prod && !policy.override_prod_marker =>
                            {
                                "refuse"
                            }
                            Target::Local
                                if matches!(marker, Marker::Unreadable(_)) && !policy.dry_run =>
                            {
                                "fail"
                            }
                            _ if policy.dry_run => "dry run",
                            // A workspace file is never production's: no confirmation.
                            _ if *name == "workspace file" => "execute",
                            Target::Local => "execute",
                            Target::Prod if policy.yes => "execute",
                            Target::Prod if policy.interactive => "confirm",
                            Target::Prod => "refuse",
                        };
                        let kind = match &got {
                            Refuse(_) => "refuse",
                            Fail(_) => "fail",
                            DryRun => "dry run",
                            Confirm => "confirm",
                            Execute => "execute",
                        };
                        assert_eq!(kind, expected, "{name}, {marker:?}, {policy:?}: {got:?}");
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 6 * 4 * 2 * 16);
    }

    /// A plan scoped to the local stack is refused in production whatever the flags say (before
    /// a dry run, before a confirmation), and is an ordinary plan locally.
    #[test]
    fn a_local_only_plan_never_runs_in_production() {
        let scope = Scope::LocalOnly {
            command: "setup",
            why: REBUILDS,
        };
        for bits in 0..32u8 {
            let policy = Policy {
                target: if bits & 16 != 0 {
                    Target::Prod
                } else {
                    Target::Local
                },
                dry_run: bits & 1 != 0,
                yes: bits & 2 != 0,
                interactive: bits & 4 != 0,
                override_prod_marker: bits & 8 != 0,
                allow_remote_host: false,
            };
            let any = plan(postgres("localhost"));
            let local_only = Plan {
                scope,
                ..any.clone()
            };
            let got = decide(&policy, &local_only, &Marker::Unmarked);
            if policy.target == Target::Prod {
                assert_eq!(
                    got,
                    Decision::Refuse(
                        "`setup` rebuilds the stores from scratch and runs on the local stack \
                         only; in production run the one step you mean (e.g. `cruddur --prod db \
                         schema-load`)"
                            .into()
                    ),
                    "{policy:?}"
                );
            } else {
                assert_eq!(got, decide(&policy, &any, &Marker::Unmarked), "{policy:?}");
            }
        }
    }

    /// A plan that puts personal data on this machine needs a person at a terminal, in either
    /// mode, whatever --yes says; a dry run still just shows it.
    #[test]
    fn a_plan_that_exposes_personal_data_needs_a_person() {
        for bits in 0..16u8 {
            let policy = Policy {
                target: Target::Local,
                dry_run: bits & 1 != 0,
                yes: bits & 2 != 0,
                interactive: bits & 4 != 0,
                override_prod_marker: bits & 8 != 0,
                allow_remote_host: false,
            };
            let plan = Plan {
                exposes: Some("it copies personal data here"),
                ..plan(postgres("localhost"))
            };
            let got = decide(&policy, &plan, &Marker::Unmarked);
            let expected = match (policy.dry_run, policy.interactive) {
                (true, _) => Decision::DryRun,
                (false, true) => Decision::Confirm,
                (false, false) => Decision::Refuse(
                    "refusing to do it without a person at a terminal to confirm it: it copies \
                     personal data here; --yes does not stand in for that. Leave masking on, or \
                     run it at a terminal"
                        .into(),
                ),
            };
            assert_eq!(got, expected, "{policy:?}");
        }
    }

    #[test]
    fn refusals_say_where_and_what_to_do() {
        let local = Policy {
            target: Target::Local,
            dry_run: false,
            yes: false,
            interactive: false,
            override_prod_marker: false,
            allow_remote_host: false,
        };
        let Decision::Refuse(why) =
            decide(&local, &plan(postgres("db.example.com")), &Marker::Unmarked)
        else {
            panic!("a remote host must be refused");
        };
        assert!(
            why.contains("`db.example.com`") && why.contains("--allow-remote-host"),
            "{why}"
        );
        // --allow-remote-host lets a remote development database through, never an AWS one.
        let remote = Policy {
            allow_remote_host: true,
            ..local
        };
        assert_eq!(
            decide(
                &remote,
                &plan(postgres("db.example.com")),
                &Marker::Unmarked
            ),
            Decision::Execute
        );
        let Decision::Refuse(why) = decide(
            &remote,
            &plan(postgres("x.rds.amazonaws.com")),
            &Marker::Unmarked,
        ) else {
            panic!("an AWS host is never local");
        };
        assert!(why.contains("never for an AWS host"), "{why}");
        let Decision::Refuse(why) = decide(&local, &plan(postgres("localhost")), &Marker::Prod)
        else {
            panic!("a prod marker must be refused locally");
        };
        assert!(
            why.contains("--override-prod-marker") && why.contains("refusing to do it"),
            "{why}"
        );
        let prod = Policy {
            target: Target::Prod,
            ..local
        };
        let Decision::Refuse(why) = decide(
            &prod,
            &plan(dynamodb("https://dynamodb.us-east-1.amazonaws.com")),
            &Marker::NotApplicable,
        ) else {
            panic!("no confirmation can be asked");
        };
        assert!(why.ends_with("re-run with --yes"), "{why}");
        // An EC2 write in local mode needs an emulator's endpoint.
        let ec2 = |endpoint: Option<&str>| Destination::Aws {
            service: "EC2",
            region: "us-east-1".into(),
            endpoint: endpoint.map(String::from),
        };
        assert!(local_only(&local, &ec2(None)).is_err());
        assert!(local_only(&local, &ec2(Some("https://ec2.us-east-1.amazonaws.com"))).is_err());
        assert!(local_only(&local, &ec2(Some("http://localhost:5000"))).is_ok());
        assert!(refuse_aws_endpoint("not a url", "the endpoint")
            .unwrap_err()
            .contains("names no host"));
    }
}
