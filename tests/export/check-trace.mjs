// SPDX-License-Identifier: LGPL-2.1 OR MIT
// Reads a trace `hftmon export --perfetto` wrote with a parser hftmon did
// not write: the trace engine of Chrome DevTools' Performance panel
// (npm @paulirish/trace_engine), which opens the same JSON trace-event
// format as Perfetto. Prints, per process and thread the engine found,
// how many entries of each name it holds, one line each:
//   PID TID NAME COUNT
// sorted, so a test can compare them with counts it knows.
// Usage: node check-trace.mjs ENGINE_DIR TRACE.json
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

const [engineDir, trace] = process.argv.slice(2);
if (!engineDir || !trace) {
	console.error('usage: node check-trace.mjs ENGINE_DIR TRACE.json');
	process.exit(2);
}
// The engine expects a browser's DOMRect.
globalThis.DOMRect ??= class {
	constructor(x = 0, y = 0, w = 0, h = 0) {
		Object.assign(this, { x, y, width: w, height: h });
	}
};
const Trace = await import(url.pathToFileURL(
	path.join(engineDir, 'models/trace/trace.js')).href);
const json = JSON.parse(fs.readFileSync(trace, 'utf8'));
const model = Trace.TraceModel.Model.createWithAllHandlers();
await model.parse(json.traceEvents);
const parsed = model.parsedTrace();
if (!parsed || !parsed.data || !parsed.data.Renderer)
	throw new Error('the engine parsed no processes');
const lines = [];
for (const [pid, proc] of parsed.data.Renderer.processes) {
	for (const [tid, thread] of proc.threads) {
		const counts = new Map();
		for (const e of thread.entries)
			counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
		for (const [name, n] of counts)
			lines.push(`${pid} ${tid} ${name} ${n}`);
	}
}
lines.sort();
console.log(lines.join('\n'));
