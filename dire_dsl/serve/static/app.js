// The inspection page: one image in, POST /inspect?overlay=true, the verdict and the rule table out.
"use strict";

const $ = (id) => document.getElementById(id);

function cell(row, text, pre) {
  const td = row.insertCell();
  if (pre) {
    const block = document.createElement("pre");
    block.textContent = text;
    td.appendChild(block);
  } else {
    td.textContent = text;
  }
  return td;
}

function status(rule) {
  if (rule.pruned) return "PRUNED";
  return rule.violated ? "VIOLATED" : "normal";
}

function showRules(rules) {
  const body = $("rules").tBodies[0];
  body.replaceChildren();
  for (const rule of rules) {
    const row = body.insertRow();
    row.className = status(rule).toLowerCase();
    row.dataset.rule = rule.rule;
    cell(row, rule.rule);
    cell(row, `line ${rule.line}\n${rule.source}`, true);
    cell(row, rule.truth.toFixed(3));
    cell(row, `${rule.z >= 0 ? "+" : ""}${rule.z.toFixed(1)} normal spreads`);
    cell(row, status(rule));
    const where = rule.violated || rule.false_at.length ? rule.false_at.join(", ") : "";
    cell(row, [where, ...(rule.violated ? rule.evidence : [])].filter(Boolean).join("\n"), true);
  }
}

function show(result) {
  const verdict = $("verdict");
  verdict.textContent = result.verdict.toUpperCase();
  verdict.className = result.verdict;
  $("score").textContent = `score ${result.score.toFixed(3)}, threshold ${result.threshold.toFixed(3)}` +
    (result.violated.length ? `; violated: ${result.violated.join(", ")}` : "; no rule violated");
  const structural = result.structural;
  $("structural").textContent = structural ? `structural: ${structural.beyond_normal ? "DEFECT" : "normal"}, ` +
    `peak ${structural.z.toFixed(1)} normal spreads on ${structural.on}${structural.cell ? " in " + structural.cell : ""}` : "";
  $("overlay").src = `data:image/png;base64,${result.overlay}`;
  showRules(result.rules);
}

async function inspect(file) {
  $("error").hidden = true;
  $("result").hidden = false;
  $("verdict").textContent = "scoring…";
  $("verdict").className = "busy";
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const response = await fetch("/inspect?overlay=true", { method: "POST", body: form });
    const answer = await response.json();
    if (!response.ok) throw new Error(typeof answer.detail === "string" ? answer.detail : JSON.stringify(answer.detail));
    show(answer);
  } catch (error) {
    $("result").hidden = true;
    $("error").textContent = `${file.name}: ${error.message}`;
    $("error").hidden = false;
  }
}

async function describe() {
  const health = await (await fetch("/health")).json();
  $("category").textContent = health.category;
  $("model").textContent = `${health.model.split("/").pop()} (${health.backend}, dire-dsl ${health.version})`;
  $("model").title = health.model;
}

$("file").addEventListener("change", (event) => {
  if (event.target.files.length) inspect(event.target.files[0]);
});
const drop = $("drop");
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files.length) inspect(event.dataTransfer.files[0]);
});
describe();
