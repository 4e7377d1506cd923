// Small enhancements; every page works without them.

// Bootstrap 5.3 colour modes: follow the system's light or dark preference, also when it changes.
const darkScheme = window.matchMedia('(prefers-color-scheme: dark)');
const applyScheme = () => document.documentElement.setAttribute('data-bs-theme', darkScheme.matches ? 'dark' : 'light');
applyScheme();
darkScheme.addEventListener('change', applyScheme);
document.querySelectorAll('form[data-confirm]').forEach((form) => {
  form.addEventListener('submit', (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});

// Live progress of a running backup: polls the run's JSON, its log in the page's language, until it ends.
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
  // A value replacing a grey placeholder ("waiting…", "—") is shown in the normal colour.
  const set = (name, text) => {
    const el = run.querySelector(`[data-live="${name}"]`);
    if (el) { el.textContent = text; el.classList.remove('text-body-secondary'); }
  };
  let previous = null;
  const poll = async () => {
    const response = await fetch(`/runs/${run.dataset.runId}/live`, { headers: { Accept: 'application/json' } });
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

// New-app form: one-click schedules, and what the schedule means (next firings) as it is typed, from the server's check.
const schedule = document.getElementById('field-schedule');
const preview = document.querySelector('[data-schedule-preview]');
if (schedule && preview) {
  const zone = document.getElementById('field-timezone');
  const dates = new Intl.DateTimeFormat(preview.dataset.locale, { dateStyle: 'full', timeStyle: 'short' });
  let timer = null;
  const show = async () => {
    const query = new URLSearchParams({ cron: schedule.value.trim(), locale: preview.dataset.locale });
    if (zone && zone.value.trim()) query.set('timezone', zone.value.trim());
    if (!schedule.value.trim()) { preview.replaceChildren(); return; }
    const response = await fetch(`/api/schedule-preview?${query}`, { headers: { Accept: 'application/json' } });
    const result = await response.json();
    const line = (text, className) => Object.assign(document.createElement('div'), { textContent: text, className });
    // The API answers in English: the page carries its own words for the two fields the preview can refuse.
    if (!response.ok) {
      const field = result.details?.[0]?.field;
      return preview.replaceChildren(line((field && preview.dataset[`refused${field[0].toUpperCase()}${field.slice(1)}`]) || result.message, 'text-danger'));
    }
    if (!result.valid) return preview.replaceChildren(line(result.error, 'text-danger'));
    const list = document.createElement('ul');
    list.className = 'mb-0';
    for (const at of result.next) list.append(Object.assign(document.createElement('li'), { textContent: `${dates.format(new Date(at))} (${result.timezone})` }));
    preview.replaceChildren(line(result.description, 'fw-semibold'), line(preview.dataset.nextLabel, 'text-body-secondary'), list);
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(show, 300); };
  schedule.addEventListener('input', later);
  if (zone) zone.addEventListener('input', later);
  document.querySelectorAll('[data-cron]').forEach((button) => button.addEventListener('click', () => {
    schedule.value = button.dataset.cron;
    show();
  }));
  show();
}

// Restore: one Bootstrap dialog for every backup row; the row's button brings its backup's action and sentence.
const restoreDialog = document.querySelector('[data-restore-dialog]');
if (restoreDialog) {
  const form = restoreDialog.querySelector('[data-restore-form]');
  const typed = form.elements.confirm;
  const submit = form.querySelector('[data-restore-submit]');
  restoreDialog.addEventListener('show.bs.modal', (event) => {
    form.action = event.relatedTarget.dataset.restoreAction;
    restoreDialog.querySelector('[data-restore-text]').textContent = event.relatedTarget.dataset.restoreText;
    typed.value = '';
    submit.disabled = true;
  });
  restoreDialog.addEventListener('shown.bs.modal', () => typed.focus());
  // The server refuses any other text; the button says so before the post.
  typed.addEventListener('input', () => { submit.disabled = typed.value !== restoreDialog.dataset.appName; });
}

// The app page's chart of recent backups: size as bars, duration as a line, each on its own axis with its unit.
// Every text (dates, units, tooltips) comes formatted by the server in the page's language and time zone.
const chartCanvas = document.querySelector('canvas[data-chart]');
if (chartCanvas && window.Chart) {
  const data = JSON.parse(chartCanvas.dataset.chart);
  const style = getComputedStyle(document.documentElement);
  const colour = (name) => style.getPropertyValue(name).trim();
  // Text and grid in the colour mode's own colours (set above, before the chart is drawn).
  window.Chart.defaults.color = colour('--bs-secondary-color');
  window.Chart.defaults.borderColor = colour('--bs-border-color-translucent');
  const axis = (title, position) => ({ position, beginAtZero: true, title: { display: true, text: title } });
  new window.Chart(chartCanvas, {
    data: {
      labels: data.labels,
      datasets: [
        { type: 'bar', label: data.size.title, data: data.size.values, yAxisID: 'size', backgroundColor: colour('--bs-primary'), order: 2 },
        { type: 'line', label: data.duration.title, data: data.duration.values, yAxisID: 'duration', borderColor: colour('--bs-orange'), backgroundColor: colour('--bs-orange'), order: 1 },
      ],
    },
    options: {
      locale: data.locale,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { title: { display: true, text: data.x.title }, grid: { display: false } },
        size: axis(data.size.title, 'left'),
        duration: { ...axis(data.duration.title, 'right'), grid: { drawOnChartArea: false } },
      },
      plugins: {
        // Datasets are drawn line on top (order), but listed size first, as the axes read left to right.
        legend: { labels: { sort: (a, b) => a.datasetIndex - b.datasetIndex } },
        tooltip: {
          itemSort: (a, b) => a.datasetIndex - b.datasetIndex,
          callbacks: {
            title: (items) => data.times[items[0].dataIndex],
            label: (item) => (item.datasetIndex === 0 ? data.size : data.duration).labels[item.dataIndex],
          },
        },
      },
      // A bar leads to its run.
      onClick: (_event, elements) => { if (elements.length > 0) window.location.assign(`/runs/${data.runs[elements[0].index]}`); },
    },
  });
}

// App form: the retention rules in words as they are typed ("7 newest, 1 a day for 14 days"), from the page's phrases.
const retentionWords = document.querySelector('[data-retention-words]');
if (retentionWords) {
  const phrases = JSON.parse(retentionWords.dataset.phrases);
  const fields = { last: 'retention', daily: 'keepDaily', weekly: 'keepWeekly', monthly: 'keepMonthly', yearly: 'keepYearly' };
  const count = (rule) => {
    const value = (document.getElementById(`field-${fields[rule]}`)?.value ?? '').trim();
    return /^\d+$/.test(value) ? Number(value) : 0;
  };
  const phrase = (rule, n) => (n === 1 ? phrases[rule].one : phrases[rule].other.replace('{n}', String(n)));
  const show = () => {
    if (count('last') < 1) return (retentionWords.textContent = '');
    const parts = Object.keys(fields).filter((rule) => rule === 'last' || count(rule) > 0).map((rule) => phrase(rule, count(rule)));
    retentionWords.textContent = retentionWords.dataset.template.replace('{words}', parts.join(', '));
  };
  for (const id of Object.values(fields)) document.getElementById(`field-${id}`)?.addEventListener('input', show);
}
