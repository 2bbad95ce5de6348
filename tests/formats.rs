//! One file format both ways: `ddb export --dynamodb-json [--gzip]` writes DynamoDB's S3 export
//! lines (`{"Item": …}`), and `ddb import` reads them (gzip or not, a whole S3 export folder too)
//! as well as the older typed lines and plain JSON lines.

use std::io::{Read, Write};
use std::path::Path;

use crate::harness::{cruddur, schema_load, scratch, seeded, write, TestTable};

fn gzip(path: &Path, text: &str) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap();
}

fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn empty_table(tag: &str) -> TestTable {
    let table = TestTable::new(tag);
    schema_load(&table, false);
    table
}

#[test]
fn an_export_in_the_s3_format_gzipped_imports_back_whole() {
    let (_db, table) = seeded("fmt_s3");
    let dir = scratch();
    let file = dir.path().join("export.json.gz");
    cruddur(&[
        "ddb",
        "export",
        "--dynamodb-json",
        "--gzip",
        "--file",
        file.to_str().unwrap(),
    ])
    .table(&table)
    .stdout_has("DynamoDB JSON, gzip")
    .stderr_is("")
    .run();
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a gzip file");
    let text = gunzip(&file);
    assert_eq!(text.lines().count(), table.items().len());
    assert!(
        text.lines().all(|l| l.starts_with("{\"Item\":{")),
        "{}",
        &text[..200]
    );
    let copy = empty_table("fmt_s3_copy");
    // Read as typed without --dynamodb-json: the `Item` wrapper says what it is.
    cruddur(&["ddb", "import", file.to_str().unwrap()])
        .table(&copy)
        .stderr_is("")
        .run();
    assert_eq!(copy.sorted_items(), table.sorted_items());
}

#[test]
fn an_s3_export_folder_imports_client_side_and_older_files_stay_readable() {
    let dir = scratch();
    let data = dir.path().join("AWSDynamoDB/01700000000000-a1b2c3d4/data");
    std::fs::create_dir_all(&data).unwrap();
    write(
        &dir.path().join("AWSDynamoDB/01700000000000-a1b2c3d4"),
        "manifest-summary.json",
        "{\"version\":\"2020-06-30\",\"itemCount\":3}",
    );
    gzip(
        &data.join("aaaa.json.gz"),
        "{\"Item\":{\"pk\":{\"S\":\"MSG#g\"},\"sk\":{\"S\":\"1\"},\"message\":{\"S\":\"é % \\\"q\\\"\"}}}\n\
         {\"Item\":{\"pk\":{\"S\":\"MSG#g\"},\"sk\":{\"S\":\"2\"},\"n\":{\"N\":\"42\"}}}\n",
    );
    gzip(
        &data.join("bbbb.json.gz"),
        "{\"Item\":{\"pk\":{\"S\":\"MSG#g\"},\"sk\":{\"S\":\"3\"},\"tags\":{\"SS\":[\"a\",\"b\"]}}}\n",
    );
    let table = empty_table("fmt_folder");
    cruddur(&["ddb", "import", dir.path().to_str().unwrap()])
        .table(&table)
        .stdout_has("imported 3 items")
        .stderr_is("")
        .run();
    let items = table.items();
    assert_eq!(items.len(), 3);
    assert!(items.iter().any(|i| i["message"] == "é % \"q\""));

    // A key on a line of one file and again in another is named with both places.
    gzip(
        &data.join("cccc.json.gz"),
        "{\"Item\":{\"pk\":{\"S\":\"MSG#g\"},\"sk\":{\"S\":\"1\"}}}\n",
    );
    cruddur(&["ddb", "import", dir.path().to_str().unwrap()])
        .table(&table)
        .code(1)
        .stderr_has("cccc.json.gz:1: the key MSG#g / 1 is already on ")
        .stderr_has("aaaa.json.gz:1")
        .stdout_is("")
        .run();

    // The typed lines of an earlier export (no `Item` wrapper), with --dynamodb-json.
    let older = write(
        dir.path(),
        "older.jsonl",
        "{\"pk\":{\"S\":\"MSG#old\"},\"sk\":{\"S\":\"1\"},\"message\":{\"S\":\"kept\"}}\n",
    );
    cruddur(&["ddb", "import", older.to_str().unwrap(), "--dynamodb-json"])
        .table(&table)
        .stdout_has("imported 1 items")
        .stderr_is("")
        .run();
}

#[test]
fn a_truncated_gzip_or_an_empty_folder_is_said_and_nothing_is_written() {
    let dir = scratch();
    let mut lines = String::new();
    for i in 0..2000 {
        lines.push_str(&format!(
            "{{\"Item\":{{\"pk\":{{\"S\":\"MSG#t\"}},\"sk\":{{\"S\":\"{i:05}\"}},\"message\":{{\"S\":\"line {i} of a long file\"}}}}}}\n"
        ));
    }
    let whole = dir.path().join("whole.json.gz");
    gzip(&whole, &lines);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = write(dir.path(), "cut.json.gz", "");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let table = empty_table("fmt_cut");
    cruddur(&["ddb", "import", cut.to_str().unwrap()])
        .table(&table)
        .code(1)
        .stderr_has("cut.json.gz:")
        .stderr_has("a truncated or damaged gzip file?")
        .stdout_is("")
        .run();
    assert!(table.items().is_empty(), "nothing written");

    let folder = dir.path().join("not-an-export");
    std::fs::create_dir_all(folder.join("other")).unwrap();
    cruddur(&["ddb", "import", folder.to_str().unwrap()])
        .table(&table)
        .code(1)
        .stderr_has("without the data files of a DynamoDB S3 export")
        .stdout_is("")
        .run();
}
