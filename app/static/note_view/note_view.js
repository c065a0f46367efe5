// Coda note view (Streamlit custom component v2).
// `data.html` is built by app/note_view.py::render_html, where every piece of note text and every
// attribute value was escaped with html.escape, so it is inserted as markup here. Nothing else in
// `data` is executable. A click (or Enter / Space) on a highlight sends {codes, start, end, at} back
// as the "click" state value; `at` makes every click news, a second click on the same highlight too,
// so the view is updated in place and never has to be mounted afresh.
export default function noteView({ data, parentElement, setStateValue }) {
  let host = parentElement.querySelector(".coda-note-host");
  if (!host) {
    host = document.createElement("div");
    host.className = "coda-note-host";
    parentElement.appendChild(host);
  }

  const html = data && typeof data.html === "string" ? data.html : "";
  if (host.codaHtml !== html) {
    // Keep keyboard focus on the same highlight across the rerun a click causes.
    const active = parentElement.activeElement || document.activeElement;
    const focused = active && host.contains(active) ? [active.dataset.start, active.dataset.end] : null;
    host.innerHTML = html;
    host.codaHtml = html;
    if (focused) {
      const again = host.querySelector(`mark[data-start="${focused[0]}"][data-end="${focused[1]}"]`);
      if (again) again.focus();
    }
  }

  const markOf = (event) => (event.target instanceof Element ? event.target.closest("mark[data-codes]") : null);
  const send = (mark) =>
    setStateValue("click", {
      codes: (mark.dataset.codes || "").split(/\s+/).filter(Boolean),
      start: Number(mark.dataset.start),
      end: Number(mark.dataset.end),
      at: Date.now() + Math.random(),
    });

  // Property handlers, not addEventListener: Streamlit calls this function again on every data
  // change without running the previous cleanup, so assigning replaces instead of piling up.
  host.onclick = (event) => {
    const mark = markOf(event);
    if (mark) send(mark);
  };
  host.onkeydown = (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    const mark = markOf(event);
    if (!mark) return;
    event.preventDefault();
    send(mark);
  };
  return () => {
    host.onclick = null;
    host.onkeydown = null;
  };
}
