/**
 * The page's whole stylesheet, inlined by the layout. Colours keep at least 4.5:1 contrast on
 * their backgrounds; state is never shown by colour alone (every badge has words); the layout
 * reflows to one column down to 320 px without horizontal scrolling.
 */
export const PAGE_CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;background:#fff}
a{color:#0b57d0}
a:hover{text-decoration-thickness:2px}
:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.skip{position:absolute;left:-9999px;top:0;background:#fff;padding:.5rem 1rem;z-index:1}
.skip:focus{left:1rem}
.visually-hidden{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.wrap{max-width:72rem;margin:0 auto;padding:0 1rem}
header.site{border-bottom:1px solid #d0d0d0;background:#f6f8fa}
header.site .wrap{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding-top:.6rem;padding-bottom:.6rem}
.brand{font-weight:700;color:#1d1d1f;text-decoration:none;font-size:1.1rem}
.account{display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:center;min-width:0}
.account form{margin:0}
main.wrap{padding-top:1.25rem;padding-bottom:3rem}
footer.site{border-top:1px solid #d0d0d0;color:#595959;font-size:.9rem;padding:1rem 0 2rem}
h1{font-size:1.75rem;line-height:1.25;margin:.25rem 0 .75rem;overflow-wrap:anywhere}
h2{font-size:1.3rem;margin:2rem 0 .75rem}
h3{font-size:1.1rem;margin:0 0 .4rem;overflow-wrap:anywhere}
p,dd,td,li{overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.muted{color:#595959}
.notice{border-left:4px solid #8a5a00;background:#fff8e6;padding:.6rem .9rem;margin:1rem 0}
.notice.error{border-color:#a50e0e;background:#fdecea}
button,.button{font:inherit;font-size:.95rem;padding:.4rem .9rem;border:1px solid #0b57d0;border-radius:6px;background:#0b57d0;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:#0b57d0}
input,select{font:inherit;padding:.4rem .5rem;border:1px solid #6e6e6e;border-radius:6px;background:#fff;color:#1d1d1f;max-width:100%}
form.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,11rem),1fr));gap:.75rem;align-items:end;background:#f6f8fa;border:1px solid #d0d0d0;border-radius:8px;padding:1rem}
form.filters .field{display:flex;flex-direction:column;gap:.25rem;min-width:0}
form.filters .field.search{grid-column:1/-1}
form.filters label{font-weight:600}
form.filters .actions{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}
ul.cards{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,20rem),1fr));gap:1rem}
ul.cards>li{min-width:0}
.card{border:1px solid #d0d0d0;border-radius:8px;padding:1rem;height:100%;display:flex;flex-direction:column;gap:.4rem}
.card p{margin:0}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .75rem;margin:.25rem 0 0}
.facts dt{color:#595959}
.facts dd{margin:0;min-width:0}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.85rem;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.lc-approved,.st-up,.rv-approved{color:#146c2e;background:#e6f4ea}
.lc-in_review,.rv-pending,.rv-changes_requested{color:#7a4800;background:#fff4e5}
.lc-draft,.st-unknown,.rv-none{color:#4a4a4a;background:#f1f1f1}
.lc-deprecated{color:#8a3200;background:#fdeee0}
.lc-retired,.st-down,.rv-rejected{color:#a50e0e;background:#fdecea}
.verdict{margin-top:auto;padding:.4rem .6rem;border-radius:6px;font-weight:600}
.verdict.yes{color:#146c2e;background:#e6f4ea}
.verdict.no{color:#a50e0e;background:#fdecea}
.verdict .why{font-weight:400}
nav.pages{display:flex;gap:1rem;margin-top:1.25rem;flex-wrap:wrap}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;font-weight:600;padding:.25rem 0 .5rem}
th,td{border-bottom:1px solid #d0d0d0;padding:.4rem .5rem;text-align:left;vertical-align:top}
thead th{background:#f6f8fa}
ul.tools{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,26rem),1fr));gap:1rem}
ul.tools>li{min-width:0}
ul.tags{list-style:none;padding:0;margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.4rem}
.tag{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:.85rem;border:1px solid #6e6e6e;color:#333}
.tag.destructive{border-color:#a50e0e;color:#a50e0e}
.tag.approval{border-color:#7a4800;color:#7a4800;font-weight:600}
.snippets{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr));gap:0 1.5rem}
.snippet{margin:0 0 1.25rem;min-width:0}
.snippet pre{margin:.4rem 0;padding:.75rem;background:#f6f8fa;border:1px solid #d0d0d0;border-radius:6px;overflow-x:auto;max-width:100%}
.snippet .copy-status{margin-left:.5rem;color:#146c2e}
.lede{font-size:1.05rem;max-width:48rem}
.meta-line{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.25rem 0 .75rem}
dl.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,14rem),1fr));gap:.75rem;margin:1rem 0}
dl.kpis>div{border:1px solid #d0d0d0;border-radius:8px;padding:.75rem 1rem}
dl.kpis dt{color:#595959}
dl.kpis dd{margin:0}
dl.kpis strong{font-size:1.6rem;display:block}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr));gap:1rem 1.5rem}
figure.chart{margin:0;min-width:0}
figure.chart svg{display:block;max-width:100%;height:auto}
figure.chart figcaption{color:#595959;font-size:.9rem;margin-top:.25rem}
form.rate{display:flex;flex-wrap:wrap;gap:.4rem;align-items:end;margin:0}
form.rate label{display:flex;flex-direction:column;font-size:.85rem}
form.rate input[type=number]{width:6rem}
@media (max-width:30rem){h1{font-size:1.45rem}}
@media (max-width:40rem){
table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.stack tr{display:block;border-bottom:1px solid #d0d0d0;padding:.4rem 0}
table.stack th,table.stack td{display:block;border:0;padding:.1rem 0}
table.stack td[data-label]::before{content:attr(data-label) ": ";color:#595959}
}
@media (max-width:22rem){.facts{grid-template-columns:1fr}.facts dt{margin-top:.25rem}}
`;
