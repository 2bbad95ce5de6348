//! DynamoDB's server-side export to S3 and import from S3 (`ddb export --s3`, `ddb import
//! --s3`), on the moto server, which serves S3 at the same endpoint. moto exports at once,
//! into one gzip file under `AWSDynamoDB/<id>/data/`; what is asserted is cruddur's behaviour.

use std::io::Read;

use crate::harness::{cruddur, moto_url, schema_load, scratch, Run, TestDb, TestTable};

fn unique(tag: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("s3-{tag}-{}-{}", std::process::id(), n % 1_000_000_000)
}

/// What moto needs to take a request as the test account's (it checks no signature).
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

fn on_moto(args: &[&str]) -> Run {
    cruddur(args).env("AWS_ENDPOINT_URL", moto_url())
}

/// A bucket on moto (path-style, as moto takes it).
fn bucket(tag: &str) -> String {
    let name = unique(tag).to_lowercase();
    ureq::put(&format!("{}/{name}", moto_url()))
        .header("Authorization", AUTH)
        .send_empty()
        .expect("moto made no bucket");
    name
}

/// Every key under `prefix`.
fn keys(bucket: &str, prefix: &str) -> Vec<String> {
    let listing = ureq::get(&format!(
        "{}/{bucket}?list-type=2&prefix={prefix}",
        moto_url()
    ))
    .header("Authorization", AUTH)
    .call()
    .unwrap()
    .body_mut()
    .read_to_string()
    .unwrap();
    listing
        .split("<Key>")
        .skip(1)
        .map(|rest| rest.split("</Key>").next().unwrap().to_string())
        .collect()
}

fn object(bucket: &str, key: &str) -> Vec<u8> {
    ureq::get(&format!("{}/{bucket}/{key}", moto_url()))
        .header("Authorization", AUTH)
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap()
}

/// A table on moto with the app's schema and 60 messages of plain ASCII (62 items with the
/// groups), and a bucket: what a server-side export starts from. The table's name, its items,
/// the bucket.
fn exportable(tag: &str) -> (String, Vec<Vec<(String, String)>>, String) {
    let db = TestDb::set_up(&format!("s3_{tag}"));
    let name = unique(tag);
    on_moto(&["ddb", "schema-load", "--table", &name])
        .stdout_is(&format!("created table `s3-{tag}-⟪n⟫-⟪n⟫`: keys pk (HASH) + sk (RANGE); index message-group-sk-index; \
        PROVISIONED 5/5; stream NEW_IMAGE; deletion protection off; status ACTIVE\n"))
        .stderr_is("")
        .run();
    // Plain ASCII: moto's ImportTable cuts strings at `'` and escaped `"`, and its export writes
    // non-ASCII as `\u` escapes its import then keeps as text (quirks of its own; the client
    // side keeps all of them whole, tests/formats.rs).
    let dir = scratch();
    let mut text = String::new();
    for i in 0..60 {
        text.push_str(&format!("Person {}: message {i}, plain; (ok)\n", i % 2 + 1));
    }
    let fixture = crate::harness::write(dir.path(), "plain.txt", &text);
    on_moto(&[
        "ddb",
        "seed",
        "--table",
        &name,
        "--fixture",
        fixture.to_str().unwrap(),
    ])
    .db(&db)
    .stderr_is(
        "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
        choose others)\n",
    )
    .run();
    let before = TestTable::named_at(&name, &moto_url()).sorted_items();
    (name, before, bucket(tag))
}

/// The table `name` (of `exportable(tag)`) exported server-side (`--enable-pitr`) under
/// `exports` in `bucket`, its gzip data files holding every item of `before`: their keys.
#[track_caller]
fn exported(tag: &str, name: &str, bucket: &str, before: &[Vec<(String, String)>]) -> Vec<String> {
    let to = format!("s3://{bucket}/exports");
    let done = on_moto(&[
        "ddb",
        "export",
        "--table",
        name,
        "--s3",
        &to,
        "--enable-pitr",
    ])
    .stdout_has(&format!("exported `{name}` to {to}"))
    .stderr_is(&format!(
        "turned on point-in-time recovery for `s3-{tag}-⟪n⟫-⟪n⟫`\n"
    ))
    .run();
    let data: Vec<String> = keys(bucket, "exports")
        .into_iter()
        .filter(|k| k.contains("/data/") && k.ends_with(".gz"))
        .collect();
    assert!(!data.is_empty(), "{done}\nkeys: {:?}", keys(bucket, ""));
    let mut lines = 0;
    for key in &data {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&object(bucket, key)[..])
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.lines().all(|l| l.starts_with("{\"Item\":")), "{text}");
        lines += text.lines().count();
    }
    assert_eq!(lines, before.len(), "every item exported");
    data
}

#[test]
fn without_point_in_time_recovery_a_server_side_export_is_refused_and_the_flag_planned() {
    let (name, _, bucket) = exportable("pitr");
    let to = format!("s3://{bucket}/exports");
    // Point-in-time recovery is off: said, with the flag that turns it on; nothing made.
    on_moto(&["ddb", "export", "--table", &name, "--s3", &to])
        .code(1)
        .stdout_is("")
        .stderr_is("error: point-in-time recovery is off for table `s3-pitr-⟪n⟫-⟪n⟫`, and ExportTableToPointInTime \
        needs it: add --enable-pitr (an UpdateContinuousBackups, shown in the plan \
        and confirmed; it has a cost), or export client-side (without --s3); nothing \
        was changed\n")
        .run();
    assert!(keys(&bucket, "exports").is_empty());
    on_moto(&[
        "ddb",
        "export",
        "--table",
        &name,
        "--s3",
        &to,
        "--enable-pitr",
        "--dry-run",
    ])
    .stdout_has("UpdateContinuousBackups")
    .stdout_has(&format!("ExportTableToPointInTime `{name}` to {to}"))
    .stderr_is("")
    .run();
}

#[test]
fn a_server_side_export_holds_every_item_and_imports_client_side() {
    let (name, before, bucket) = exportable("cycle");
    exported("cycle", &name, &bucket, &before);
    // The export downloaded as it lies in S3 imports client-side too (a folder).
    let download = scratch();
    for key in keys(&bucket, "exports") {
        let path = download.path().join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, object(&bucket, &key)).unwrap();
    }
    let local = TestTable::new("s3_download");
    schema_load(&local, false);
    cruddur(&[
        "ddb",
        "import",
        download.path().join("exports").to_str().unwrap(),
    ])
    .table(&local)
    .stderr_is("")
    .run();
    assert_eq!(local.sorted_items(), before);
}

#[test]
fn a_server_side_export_builds_a_new_table_and_only_a_new_one() {
    let (name, before, bucket) = exportable("import");
    let data = exported("import", &name, &bucket, &before);
    // ImportTable from that export's data builds a new table with the same items and a stream.
    let folder = data[0].rsplit_once('/').unwrap().0.to_string();
    let copy = format!("{name}-copy");
    on_moto(&[
        "ddb",
        "import",
        "--table",
        &copy,
        "--s3",
        &format!("s3://{bucket}/{folder}"),
    ])
    .stdout_is(
        "imported 62 of 62 items from s3://s3-import-⟪n⟫-⟪n⟫/exports/AWSDynamoDB/⟪uuid⟫/data \
        into the new table `s3-import-⟪n⟫-⟪n⟫-copy`; stream NEW_IMAGE on\n",
    )
    .stderr_is("")
    .run();
    let copied = TestTable::named_at(&copy, &moto_url());
    assert_eq!(copied.sorted_items(), before);
    let described = copied
        .block_on(copied.client.describe_table().table_name(&copy).send())
        .unwrap();
    let described = described.table().unwrap();
    assert!(described
        .stream_specification()
        .is_some_and(|s| s.stream_enabled()));
    assert_eq!(described.global_secondary_indexes().len(), 1);

    // An existing table is refused, naming the client-side path.
    on_moto(&[
        "ddb",
        "import",
        "--table",
        &copy,
        "--s3",
        &format!("s3://{bucket}/{folder}"),
    ])
    .code(1)
    .stderr_has("already exists")
    .stderr_has("cruddur ddb import FOLDER")
    .stdout_is("")
    .run();
}

#[test]
fn a_local_export_in_the_s3_format_imports_server_side() {
    // Plain text: moto's ImportTable reader cuts strings at `'` and escaped `"` (its quirk,
    // not the file's: tests/formats.rs imports such text whole client-side).
    let (db, local) = crate::harness::ground("s3_local");
    let dir = scratch();
    let fixture = crate::harness::write(
        dir.path(),
        "plain.txt",
        "Person 1: a plain first line\nPerson 2: a plain answer, with commas; and more\nPerson 1: é and 中 too\n",
    );
    cruddur(&["ddb", "seed", "--fixture", fixture.to_str().unwrap()])
        .stack(&db, &local)
        .stderr_is(
            "conversation between timmy-cde and tim-suarez (--my-handle and --other-handle \
            choose others)\n",
        )
        .run();
    let file = dir.path().join("part-0001.json.gz");
    gzip_export(&local, &file);
    let bucket = bucket("local");
    ureq::put(&format!("{}/{bucket}/upload/part-0001.json.gz", moto_url()))
        .header("Authorization", AUTH)
        .send(&std::fs::read(&file).unwrap()[..])
        .unwrap();
    let name = unique("local");
    on_moto(&[
        "ddb",
        "import",
        "--table",
        &name,
        "--s3",
        &format!("s3://{bucket}/upload"),
    ])
    .stdout_is(
        "imported 5 of 5 items from s3://s3-local-⟪n⟫-⟪n⟫/upload into the new table \
        `s3-local-⟪n⟫-⟪n⟫`; stream NEW_IMAGE on\n",
    )
    .stderr_is("")
    .run();
    assert_eq!(
        TestTable::named_at(&name, &moto_url()).sorted_items(),
        local.sorted_items()
    );
}

#[test]
fn s3_places_and_missing_buckets_are_said_and_nothing_changes() {
    let name = unique("bad");
    on_moto(&["ddb", "schema-load", "--table", &name])
        .stdout_is("created table `s3-bad-⟪n⟫-⟪n⟫`: keys pk (HASH) + sk (RANGE); index message-group-sk-index; \
        PROVISIONED 5/5; stream NEW_IMAGE; deletion protection off; status ACTIVE\n")
        .stderr_is("")
        .run();
    on_moto(&["ddb", "export", "--table", &name, "--s3", "my-bucket/x"])
        .code(1)
        .stdout_is("")
        .stderr_is("error: --s3 `my-bucket/x` is not an S3 place: write it s3://BUCKET/PREFIX\n")
        .run();
    on_moto(&[
        "ddb",
        "import",
        "--table",
        "x-new-table",
        "--s3",
        "s3://Not_A_Bucket",
    ])
    .code(1)
    .stdout_is("")
    .stderr_is(
        "error: --s3: `Not_A_Bucket` is not a bucket name (3 to 63 of a-z, 0-9, `-` \
        and `.`)\n",
    )
    .run();
    on_moto(&["ddb", "export", "--table", &name, "--s3"])
        .code(2)
        .stdout_is("")
        .stderr_is(
            "error: a value is required for '--s3 <URL>' but none was supplied\n\nFor \
            more information, try '--help'.\n",
        )
        .run();
    // A bucket that is not there: said, naming it; nothing made.
    let done = on_moto(&[
        "ddb",
        "export",
        "--table",
        &name,
        "--s3",
        "s3://no-such-bucket-here/x",
        "--enable-pitr",
    ])
    .code(1)
    .stdout_is("")
    .stderr_is(
        "turned on point-in-time recovery for `s3-bad-⟪n⟫-⟪n⟫`\nerror: the export \
        failed: the bucket `no-such-bucket-here` does not exist (or is in another \
        account): create it, or name another with --s3 (point-in-time recovery, \
        turned on first, stays on)\n",
    )
    .run();
    assert!(!done.stderr.contains("Error {"), "{done}");
}

/// Where the exports of [`exported_to_a_bucket`] are, as DynamoDB lays one out.
const EXPORT: &str = "exports/AWSDynamoDB/01700000000000-abcdefgh";

/// Put `body` into `bucket` on moto, as `key`.
fn put(bucket: &str, key: &str, body: &[u8]) {
    ureq::put(&format!("{}/{bucket}/{key}", moto_url()))
        .header("Authorization", AUTH)
        .send(body)
        .unwrap();
}

/// An export's `manifest-summary.json`, saying it held `items`.
fn manifest(items: usize) -> String {
    format!(
        "{{\"version\":\"2020-06-30\",\"exportArn\":\"arn:aws:dynamodb:us-east-1:123456789012:\
         table/cruddur-messages/export/01700000000000-abcdefgh\",\"itemCount\":{items},\
         \"outputFormat\":\"DYNAMODB_JSON\"}}"
    )
}

/// A conversation of three messages (5 items) exported from a local table as DynamoDB JSON,
/// gzipped, and put into a new bucket under [`EXPORT`]`/data/`, as DynamoDB writes an
/// export's data (no manifest yet): the bucket.
fn exported_to_a_bucket(tag: &str) -> String {
    let (db, local) = crate::harness::ground(&format!("s3_{tag}"));
    let dir = scratch();
    let fixture = crate::harness::write(
        dir.path(),
        "plain.txt",
        "Person 1: one\nPerson 2: two\nPerson 1: three\n",
    );
    cruddur(&["ddb", "seed", "-q", "--fixture", fixture.to_str().unwrap()])
        .stack(&db, &local)
        .run();
    let file = dir.path().join("part.json.gz");
    gzip_export(&local, &file);
    let bucket = bucket(tag);
    put(
        &bucket,
        &format!("{EXPORT}/data/part.json.gz"),
        &std::fs::read(&file).unwrap(),
    );
    bucket
}

/// An export laid out as DynamoDB writes it (`AWSDynamoDB/<id>/data/` and its
/// `manifest-summary.json`), whose data lost items on the way: ImportTable processes fewer than
/// the manifest's count, and the import says so with both counts and exits 1.
#[test]
fn an_import_short_of_what_the_export_held_says_so_and_fails() {
    let bucket = exported_to_a_bucket("short");
    put(
        &bucket,
        &format!("{EXPORT}/manifest-summary.json"),
        manifest(7).as_bytes(),
    );
    let from = format!("s3://{bucket}/{EXPORT}/data");
    let short = unique("short");
    on_moto(&["ddb", "import", "--table", &short, "--s3", &from])
        .code(1)
        .stdout_is(&format!(
            "imported 5 of 5 items from {from} into the new table `{short}`; stream NEW_IMAGE \
             on; the export held 7\n"
        ))
        .stderr_is(&format!(
            "error: ImportTable processed 5 of the 7 items the export held \
             (s3://{bucket}/{EXPORT}/manifest-summary.json): 2 are not in the new table \
             `{short}`. Check the export's files, drop the table (`cruddur ddb drop`) and import \
             again\n"
        ))
        .run();
}

/// The same export with its data whole: a plain import.
#[test]
fn an_import_of_all_the_export_held_is_a_plain_import() {
    let bucket = exported_to_a_bucket("whole");
    put(
        &bucket,
        &format!("{EXPORT}/manifest-summary.json"),
        manifest(5).as_bytes(),
    );
    let from = format!("s3://{bucket}/{EXPORT}/data");
    let whole = unique("whole");
    on_moto(&["ddb", "import", "--table", &whole, "--s3", &from])
        .stdout_is(&format!(
            "imported 5 of 5 items from {from} into the new table `{whole}`; stream NEW_IMAGE on\n"
        ))
        .stderr_is("")
        .run();
}

/// `ddb export --dynamodb-json --gzip` of `table` into `file`, as DynamoDB's S3 export writes
/// its data files.
fn gzip_export(table: &TestTable, file: &std::path::Path) {
    cruddur(&[
        "ddb",
        "export",
        "--dynamodb-json",
        "--gzip",
        "--file",
        file.to_str().unwrap(),
    ])
    .table(table)
    .stderr_is("")
    .run();
}
