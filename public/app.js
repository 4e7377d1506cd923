// Small enhancements; every page works without them.
document.querySelectorAll('form[data-confirm]').forEach((form) => {
  form.addEventListener('submit', (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});

// Live progress of a running backup: polls the run's JSON (same credentials) until it ends.
const run = document.getElementById('run');
if (run && ['queued', 'running'].includes(run.dataset.status)) {
  const locale = run.dataset.locale;
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const size = (bytes) => {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let unit = 0;
    while (bytes >= 1024 && unit < units.length - 1) { bytes /= 1024; unit++; }
    return `${number.format(bytes)} ${units[unit]}`;
  };
  const set = (name, text) => { const el = run.querySelector(`[data-live="${name}"]`); if (el) el.textContent = text; };
  let previous = null;
  const poll = async () => {
    const response = await fetch(`/api/runs/${run.dataset.runId}`, { headers: { Accept: 'application/json' } });
    if (!response.ok) return setTimeout(poll, 2000);
    const state = await response.json();
    if (!['queued', 'running'].includes(state.status)) return window.location.reload();
    const now = Date.now();
    // Until the first byte the page keeps saying it waits for the app, rather than "0 B · 0 B/s".
    if (state.bytes > 0) set('bytes', size(state.bytes));
    if (previous && state.bytes > 0) set('rate', `${size(((state.bytes - previous.bytes) * 1000) / Math.max(1, now - previous.at))}/s`);
    if (state.startedAt) set('elapsed', `${number.format((now - Date.parse(state.startedAt)) / 1000)} s`);
    if (state.log.length > 0) set('log', state.log.join('\n'));
    previous = { bytes: state.bytes, at: now };
    setTimeout(poll, 1000);
  };
  poll();
}
