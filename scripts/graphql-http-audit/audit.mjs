// Audits a GraphQL over HTTP endpoint with graphql-http's auditServer.
//
//   node audit.mjs http://127.0.0.1:18181/graphql
//
// Prints every result (status, name, reason) and a summary; exits 1 when any
// result is not 'ok' (a failed MUST is 'error', a failed SHOULD 'warn', a
// failed MAY 'notice'; all count as failures: the portal must pass the audit
// cleanly), 2 on a usage error or when the audit itself cannot run.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <url of the /graphql endpoint>');
  process.exit(2);
}

let results;
try {
  results = await auditServer({ url });
} catch (err) {
  console.error(`audit could not run against ${url}: ${err?.stack ?? err}`);
  process.exit(2);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  let line = `${result.status.padEnd(5)} ${result.id} ${result.name}`;
  if (result.status !== 'ok') {
    line += `\n      reason: ${result.reason}`;
    // The response the check saw, so a failure can be diagnosed from the log.
    try {
      const res = result.response;
      const body = await res.text();
      line += `\n      response: ${res.status} ${res.headers.get('content-type') ?? '(no content-type)'} ${body.slice(0, 300)}`;
    } catch {
      // Body already consumed by the check or not available.
    }
  }
  console.log(line);
}

console.log(
  `\n${results.length} results: ${counts.ok} ok, ${counts.notice} notice, ${counts.warn} warn, ${counts.error} error`,
);
process.exit(results.every((r) => r.status === 'ok') ? 0 : 1);
