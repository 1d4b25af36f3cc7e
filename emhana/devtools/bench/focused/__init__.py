"""The focused benchmarks: one part each, measured beside its baseline in the same run, printed as Markdown.

`emhana bench <name> [options]` runs one (`emhana bench <name> --help` lists its options), as does
`python -m emhana.devtools.bench.focused.<name>`; the national run is `emhana bench --scale ...`. Each module's
`main(argv)` returns its figures. This package root stays light so the CLI starts fast.
"""

# Their default database: the project's PostgreSQL test cluster (a scratch schema is made and dropped).
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# name -> what it measures (the module emhana.devtools.bench.focused.<name> runs it)
BENCHMARKS = {
    "attach": "attach transactions per second: the service beside raw SQL, 1 and 8 clients (PostgreSQL)",
    "capitation": "the capitation snapshot beside a bare GROUP BY over the same attachments (PostgreSQL)",
    "cms": "detached CMS verification beside a raw cryptography verify of the same signature",
    "fhir": "signed FHIR transaction Bundles through the door beside a bulk insert of the same entries",
    "http": "the audited HTTP reads and the near search beside ping on the real server, 2 workers (PostgreSQL)",
    "load": "the generator's bulk load beside a raw psycopg COPY of the very same rows (PostgreSQL)",
    "near": "the nearest-10-sites search beside a brute-force numpy haversine scan",
    "seal": "QR seals built and verified beside raw ES256; photo to verdict",
}
