// node_http_burst.js URL N
//
// N concurrent http.get(URL) from one Node.js event loop, while a 1 ms setInterval
// records the longest gap between its ticks: how long the loop was blocked.  All
// times are process.hrtime (monotonic), measured here, from the moment the N
// requests are issued.  Prints one JSON line:
//   {"ok":true|false, "responses":N, "bodies":{"peer 127.0.0.4":N}, "errors":[...],
//    "max_gap_ms":..., "total_ms":..., "ticks":...}
"use strict";
const http = require("http");

const url = process.argv[2];
const n = parseInt(process.argv[3] || "20", 10);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

const now = () => Number(process.hrtime.bigint()) / 1e6;

let last = now();
let maxGap = 0;
let ticks = 0;
let measuring = false;
const ticker = setInterval(() => {
  const t = now();
  if (measuring) {
    maxGap = Math.max(maxGap, t - last);
    ticks++;
  }
  last = t;
}, 1);

function finish(t0, bodies, errors, responses) {
  const total = now() - t0;
  // one last tick so a stall at the very end is seen too
  setTimeout(() => {
    measuring = false;
    clearInterval(ticker);
    clearTimeout(guard);
    const ok = responses === n && errors.length === 0;
    process.stdout.write(JSON.stringify({
      ok, responses, bodies, errors, max_gap_ms: +maxGap.toFixed(3),
      total_ms: +total.toFixed(3), ticks,
    }) + "\n");
    process.exit(ok ? 0 : 1);
  }, 5);
}

let guard;

function start() {
  const bodies = {};
  const errors = [];
  let responses = 0;
  let done = 0;
  const t0 = now();
  last = t0;
  measuring = true;
  guard = setTimeout(() => {
    errors.push("gave up after 15 s with " + done + "/" + n + " done");
    finish(t0, bodies, errors, responses);
  }, 15000);
  const one = () => {
    done++;
    if (done === n) finish(t0, bodies, errors, responses);
  };
  for (let i = 0; i < n; i++) {
    const req = http.get(url + "?" + i, { agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => { body += c; });
      res.on("end", () => {
        responses++;
        body = body.trim();
        bodies[body] = (bodies[body] || 0) + 1;
        one();
      });
      res.on("error", (e) => { errors.push(String(e)); one(); });
    });
    req.on("error", (e) => { errors.push(String(e.code || e)); one(); });
  }
}

// let the loop settle (module loading, first timers) before measuring
setTimeout(start, 200);
