//! The one integration-test crate: the real binary against the real PostgreSQL server and
//! moto server that `scripts/test` starts, and dynoxide, started in-process by the harness.
//! A test never skips: without its server it fails and says how to start it.

mod harness;
mod reports;

mod app;
mod backup;
mod bulk;
mod cli;
mod cognito;
mod db;
mod ddb;
mod diff;
mod dist;
mod docs;
mod faults;
mod formats;
mod layers;
mod migrations;
mod plans;
mod proxy;
mod pull;
mod rds;
mod s3;
mod serve;
mod signed;
mod sql;
mod stream;
mod strict;
mod trust;
mod whole;
mod workspace;
