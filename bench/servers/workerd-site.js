// The platform's static-assets router, as far as the page needs it, for running the whole site
// (page and signalling) on bare workerd in the time-to-call benchmark (bench/lib/call-time.mjs).
// Benchmark use only. On Cloudflare, a request that matches a file in `public/` is answered from
// the assets and never reaches the Worker; anything else goes to the Worker, whose `ASSETS`
// binding fetches files with the router's HTML handling (`/room` is `room.html`).
//
// One module, two roles (binding `ROLE`): "router" (the socket: files first, else the Worker via
// the service binding `APP`) and "assets" (our Worker's `ASSETS`: files only). Files come from a
// workerd disk service (`DISK`) over `public/`; `FILES` lists them (JSON), so that no request for
// a missing file goes to the disk.

const TYPES = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  json: "application/json",
  png: "image/png",
};

/** The file a path names, with the router's HTML handling, or null. */
function fileFor(files, pathname) {
  const p = decodeURIComponent(pathname).replace(/^\/+/, "");
  for (const f of [p, p === "" ? "index.html" : `${p}.html`, `${p}/index.html`]) if (files.has(f)) return f;
  return null;
}

let files = null;

export default {
  async fetch(request, env) {
    files ??= new Set(JSON.parse(env.FILES));
    const url = new URL(request.url);
    const file = request.method === "GET" ? fileFor(files, url.pathname) : null;
    if (file) {
      const res = await env.DISK.fetch(`http://disk/${file}`);
      const type = TYPES[file.split(".").pop()] ?? "application/octet-stream";
      return new Response(res.body, { status: res.status, headers: { "Content-Type": type, "Cache-Control": "no-store" } });
    }
    if (env.ROLE === "assets") return new Response("Not found", { status: 404 });
    return env.APP.fetch(request);
  },
};
