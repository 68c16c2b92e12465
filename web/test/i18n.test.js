// The app's message catalogue: both languages have every key, and every key the screens use
// exists (no key or raw enum value ever reaches the screen).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { formatTime, keys, label, pickLanguage, t } from "../app/i18n.js";

test("Chinese and English have the same keys", () => {
  assert.deepEqual(keys("en").sort(), keys("zh-CN").sort());
});

test("every key the screens and the worker use is in the catalogue", () => {
  const known = new Set(keys("zh-CN"));
  const sources = ["../app/main.js", "../sw.js"].map((f) => readFileSync(new URL(f, import.meta.url), "utf8"));
  const used = new Set();
  for (const source of sources) {
    for (const match of source.matchAll(/\b(?:tr|t)\((?:lang, )?"([a-zA-Z]+\.[a-zA-Z.]+)"/g)) used.add(match[1]);
  }
  assert.ok(used.size > 50);
  assert.deepEqual([...used].filter((key) => !known.has(key)), []);
});

test("Chinese first, Beijing time, enums never raw", () => {
  assert.equal(pickLanguage(null, ["fr-FR"]), "zh-CN");
  assert.equal(pickLanguage(null, ["en-US"]), "en");
  assert.equal(pickLanguage("en", ["zh-CN"]), "en");
  assert.equal(t("zh-CN", "sync.unsent", { n: 3 }), "3 项待发送");
  assert.equal(label("zh-CN", "TicketStatus", "WAITING_ON_WORKER"), "等待职工");
  assert.equal(label("en", "Severity", "CRITICAL"), "Critical");
  assert.equal(label("zh-CN", "Tier", "SOMETHING_NEW"), "Something new");
  // 2026-12-01 17:30 UTC is 12月2日 01:30 in Beijing.
  assert.match(formatTime("zh-CN", "2026-12-01T17:30:00Z"), /12月2日\s*01:30/);
});
