// The portal's one stylesheet, served at /static/site.css.

export const SITE_CSS = `*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;background:#f3f5f9}
a{color:#1f4fa3}
header.top{display:flex;align-items:center;gap:24px;padding:0 32px;height:60px;background:#1f3b73;color:#fff}
header.top .brand{font-weight:700;font-size:18px;letter-spacing:.02em;color:#fff;text-decoration:none}
header.top nav{display:flex;gap:4px;flex:1}
header.top nav a{color:#dbe4f7;text-decoration:none;padding:8px 12px;border-radius:6px}
header.top nav a.active,header.top nav a:hover{background:#2d4f92;color:#fff}
header.top form{margin:0}
header.top button{background:transparent;border:1px solid #7f95c4;color:#fff;border-radius:6px;padding:6px 12px;cursor:pointer}
main{max-width:1100px;margin:28px auto;padding:0 24px}
h1{font-size:24px;margin:0 0 16px}
.panel{background:#fff;border:1px solid #dde3ee;border-radius:10px;padding:24px;box-shadow:0 1px 2px rgba(20,30,60,.06)}
.narrow{max-width:420px;margin:60px auto}
label{display:block;font-weight:600;margin:12px 0 4px}
input[type=text],input[type=password],input[type=search]{width:100%;padding:9px 11px;border:1px solid #c4cddd;border-radius:6px;font:inherit}
button,.button{display:inline-block;background:#1f4fa3;color:#fff;border:0;border-radius:6px;padding:9px 16px;font:inherit;font-weight:600;cursor:pointer;text-decoration:none}
.error{color:#a61b1b;background:#fdecec;border:1px solid #f3c2c2;border-radius:6px;padding:8px 12px}
.toolbar{display:flex;justify-content:space-between;align-items:center;margin-bottom:14px;gap:12px}
form#search{display:flex;gap:8px}
form#search input{width:220px}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #dde3ee;border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:9px 14px;border-bottom:1px solid #edf0f5}
th{background:#eef2f9;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#4a5673}
tbody tr:nth-child(even){background:#fafbfd}
tbody tr:hover{background:#f0f5ff}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.pager{display:flex;gap:16px;align-items:center;margin-top:14px;color:#4a5673}
.empty{padding:24px;text-align:center;color:#4a5673}
dl.fields{display:grid;grid-template-columns:180px 1fr;gap:8px 16px;margin:0 0 20px}
dl.fields dt{font-weight:600;color:#4a5673}
dl.fields dd{margin:0}
.terms{max-height:260px;overflow:auto;border:1px solid #e2e7f0;border-radius:6px;padding:4px 16px;background:#fbfcfe;font-size:14px}
.check{display:flex;align-items:center;gap:8px;font-weight:400;margin:16px 0}
footer{color:#7a849b;font-size:13px;text-align:center;margin:40px 0 24px}
`;
