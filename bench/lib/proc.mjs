// /proc readings: a process tree's CPU time and resident memory, the machine's CPU counters.

import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for /proc/<pid>/stat times (Linux: USER_HZ is 100 everywhere). */
export const HZ = 100;

function readStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "latin1");
    // The command name is in parentheses and may hold spaces: split after the last ')'.
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
    return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]) };
  } catch {
    return null;
  }
}

/** `root` and every live descendant. */
export function treePids(root) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const st = readStat(name);
    if (!st) continue;
    const pid = Number(name);
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push(pid);
  }
  const out = [];
  const todo = [root];
  while (todo.length) {
    const p = todo.pop();
    if (readStat(p) === null) continue;
    out.push(p);
    for (const c of children.get(p) ?? []) todo.push(c);
  }
  return out;
}

/** CPU seconds (user + system) used so far by these processes. */
export function cpuSeconds(pids) {
  return cpuSplit(pids).total;
}

/** CPU seconds used so far by these processes: user, system (kernel) and their sum. */
export function cpuSplit(pids) {
  let u = 0;
  let k = 0;
  for (const p of pids) {
    const st = readStat(p);
    if (st) {
      u += st.utime;
      k += st.stime;
    }
  }
  return { user: u / HZ, sys: k / HZ, total: (u + k) / HZ };
}

function statusKb(pid, field) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "latin1");
    const i = s.indexOf(`${field}:`);
    if (i < 0) return 0;
    return parseInt(s.slice(i + field.length + 1), 10) || 0;
  } catch {
    return 0;
  }
}

/** Summed resident set (KiB) of these processes right now. */
export function rssKb(pids) {
  let t = 0;
  for (const p of pids) t += statusKb(p, "VmRSS");
  return t;
}

/** Summed per-process peak resident set (VmHWM, KiB): an upper bound of the tree's peak. */
export function hwmKb(pids) {
  let t = 0;
  for (const p of pids) t += statusKb(p, "VmHWM");
  return t;
}

/** Machine-wide CPU counters: busy and total seconds over all cores since boot. */
export function machineCpu() {
  const line = readFileSync("/proc/stat", "latin1").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] || 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / HZ, total: total / HZ };
}

export function loadAvg() {
  return readFileSync("/proc/loadavg", "latin1").split(" ").slice(0, 3).join(" ");
}

/**
 * CPU seconds used so far by these processes, at nanosecond resolution: the sum over their
 * threads of the scheduler's run time (/proc/<pid>/task/<tid>/schedstat, first field). The
 * utime/stime of `cpuSplit` tick at 10 ms, too coarse for the few milliseconds a wake costs.
 */
export function cpuPrecise(pids) {
  let ns = 0;
  for (const p of pids) {
    let tids;
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tids) {
      try {
        ns += Number(readFileSync(`/proc/${p}/task/${t}/schedstat`, "latin1").split(" ")[0]);
      } catch {}
    }
  }
  return ns / 1e9;
}

/** Open file descriptors of these processes (sockets, files), now. */
export function fdCount(pids) {
  let n = 0;
  for (const p of pids) {
    try {
      n += readdirSync(`/proc/${p}/fd`).length;
    } catch {}
  }
  return n;
}
