// `pier`: a thin client of the REST API. Its commands arrive with later work;
// until then, every operation is available through the API (see README.md).
process.stdout.write('pier: the CLI has no commands yet; use the REST API documented at GET /openapi.json\n');
