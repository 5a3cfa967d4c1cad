// nodered-health URL [CA_FILE]: the container's health probe (/usr/local/bin/nodered-health runs this file).
// Exits 0 when GET URL answers with an HTTP status below 500, 1 otherwise (refused, timed out, TLS not validated,
// 5xx). With CA_FILE the server certificate must chain to it and match URL's host; without it, the system store is
// used. Nothing but Node's own modules.
"use strict";
const fs = require("fs");

const [url, caFile] = process.argv.slice(2);
function fail(message) {
  console.error(`nodered-health: ${message}`);
  process.exit(1);
}
if (!url) fail("usage: nodered-health URL [CA_FILE]");
let target;
try {
  target = new URL(url);
} catch (error) {
  fail(`${url} is not a URL: ${error.message}`);
}
if (target.protocol !== "http:" && target.protocol !== "https:") fail(`${url}: only http and https URLs are probed`);
const options = { method: "GET", timeout: 5000, rejectUnauthorized: true };
if (caFile) {
  try {
    options.ca = fs.readFileSync(caFile);
  } catch (error) {
    fail(`cannot read the CA file ${caFile}: ${error.message}`);
  }
}
const client = target.protocol === "https:" ? require("https") : require("http");
const request = client.request(target, options, (response) => {
  response.resume();
  if (response.statusCode >= 500) fail(`${url} answered HTTP ${response.statusCode}`);
  process.exit(0);
});
request.on("timeout", () => request.destroy(new Error("no answer within 5 s")));
request.on("error", (error) => fail(`${url}: ${error.message}`));
request.end();
