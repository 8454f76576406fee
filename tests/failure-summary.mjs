// A node:test reporter that prints, once the whole run has ended, each test or hook that failed
// with its error's message (the TAP reporter prints them where they happened, which a long run's
// log may cut). Tests cancelled only because their suite failed, and suites failed only because
// a test of theirs did, are counted, not repeated.
// scripts/test.sh passes it beside the TAP reporter.

const LIMIT = 3_000;

function message(error) {
  const cause = error?.cause ?? error;
  const msg = String(cause?.message ?? cause);
  // Node's own frames say nothing about the failure.
  const stack = cause?.stack ? String(cause.stack).split("\n").filter((l) => !/\(node:|at node:/.test(l)).join("\n") : "";
  const text = !stack ? msg : stack.includes(msg) ? stack : `${msg}\n${stack}`;
  return text.length > LIMIT ? `${text.slice(0, LIMIT)}\n[… ${text.length - LIMIT} more characters]` : text;
}

export default async function* failureSummary(source) {
  const failed = [];
  let cancelled = 0;
  let suites = 0;
  for await (const event of source) {
    if (event.type !== "test:fail") continue;
    const { name, file, details } = event.data;
    if (details?.error?.failureType === "cancelledByParent") {
      cancelled++;
      continue;
    }
    if (details?.error?.failureType === "subtestsFailed") {
      suites++;
      continue;
    }
    failed.push({ name, file, type: details?.error?.failureType ?? "", text: message(details?.error) });
  }
  if (failed.length === 0 && cancelled === 0 && suites === 0) return;
  let out = `\n# ---- failure summary: ${failed.length} failed (in ${suites} suites), ${cancelled} cancelled with their suite ----\n`;
  for (const f of failed) {
    out += `# FAILED: ${f.name}${f.file ? ` (${f.file})` : ""}${f.type ? ` [${f.type}]` : ""}\n`;
    out += f.text.split("\n").map((l) => `#   ${l}`).join("\n") + "\n";
  }
  yield out;
}
