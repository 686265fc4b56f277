import type { components, operations, paths } from "./generated/schema";

type ScoreRequest = components["schemas"]["ScoreRequest"];
type Receipt = components["schemas"]["Receipt"];
type ReceiptSummary = components["schemas"]["ReceiptSummary"];
type Problem = components["schemas"]["Problem"];

const request: ScoreRequest = {
  framework: "PRJ-2020",
  region: "110000",
  fiscal_year: 2024,
  values: { "OUT.QTY.1": { value: 96 } },
};

type ScoreOk = operations["score"]["responses"][200]["content"]["application/json"];
type Score422 = operations["score"]["responses"][422]["content"]["application/problem+json"];
// ?receipt=summary answers the summary receipt: the 200 answer is one or the other
const ok: ScoreOk extends Receipt | ReceiptSummary ? true : false = true;
const full: Receipt extends ScoreOk ? true : false = true;
const bad: Score422 extends Problem ? true : false = true;
type ScorePath = paths["/v1/score"]["post"];
const op: ScorePath["requestBody"] extends undefined ? false : true = true;

export function firstError(problem: Problem): string | undefined {
  return problem.errors?.[0]?.msg;
}
export { request, ok, full, bad, op };
