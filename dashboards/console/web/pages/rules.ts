import uPlot from 'uplot';
import { parseDocument } from 'yaml';
import { annotate, chartWidth, type Marker } from '../chart.ts';
import { ApiError, type Me, api, can } from '../api.ts';
import { describeParams } from '../describe.ts';
import { h, time } from '../dom.ts';
import type { Page } from '../main.ts';

interface DeviceSummary { deviceId: string; firstWarning: number | null; firstCritical: number | null; alerts: number; flaps: number; findings: number; tickets: number }
interface BacktestFinding { ruleId: string; deviceId: string; metric: string; severity: string; event: string; at: number }
interface Run { summary: { findings: number; devices: DeviceSummary[] }; findings: BacktestFinding[] }
/** What was changed, for the preview chart: the rule, its parameter, the active and the candidate value. */
interface Change { rule: RuleDoc; param: string; active: number | undefined; candidate: number }
interface Version { version: number; name: string; author: string; comment: string; createdAt: number; diff: string }
interface Stat { ruleId: string; tickets: number; open: number; confirmed: number; no_fault_found: number; false_alarm: number; precision: number | null }
interface RuleLead { ruleId: string; leadTimes: { deviceId: string; hours: number | null }[]; falseAlarms: number; falseAlarmDevices: number }
interface LastBacktest { at: number; from: number; to: number; version: number | null; failures: number; rules: RuleLead[] }
type RuleDoc = { id: string; kind: string; metric?: string | string[]; fault: string; params?: Record<string, unknown> };

/** The YAML of `yaml` with one rule parameter set, keeping comments and layout. */
export function withParam(yaml: string, ruleId: string, param: string, value: number): string {
  const doc = parseDocument(yaml);
  const rules = (doc.toJS() as { rules: RuleDoc[] }).rules;
  const i = rules.findIndex((r) => r.id === ruleId);
  if (i < 0) throw new Error(`no rule ${ruleId}`);
  doc.setIn(['rules', i, 'params', param], value);
  return doc.toString();
}

export function rulesPage(root: HTMLElement, me: Me): Page {
  const activeBox = h('div');
  const editor = h('section', { 'aria-label': 'edit a rule' });
  const preview = h('section', { id: 'preview', 'aria-live': 'polite' });
  const versionsBox = h('section', { 'aria-label': 'versions' });
  const statsBox = h('section', { 'aria-label': 'precision' });
  const notice = h('p', { id: 'rules-status', role: 'status' });
  root.append(h('h1', {}, 'Rules'), notice, activeBox, editor, preview, statsBox, versionsBox);
  let activeYaml = '';
  let candidate = '';
  let typing = false;
  let drawnVersion = 0;
  let checks = 0;

  function drawEditor(rules: RuleDoc[]) {
    if (!can.editRules(me)) {
      editor.replaceChildren(h('p', { class: 'muted' }, `Your role (${me.role.replace('_', ' ')}) may view the rules; operators change them.`));
      return;
    }
    const numeric = (r: RuleDoc | undefined) => Object.entries(r?.params ?? {}).filter(([, v]) => typeof v === 'number');
    const ruleSel = h('select', { id: 'edit-rule' }, ...rules.filter((r) => numeric(r).length > 0).map((r) => h('option', { value: r.id }, r.id)));
    const paramSel = h('select', { id: 'edit-param' });
    const value = h('input', { id: 'edit-value', type: 'number', step: 'any', required: true });
    const days = h('input', { id: 'preview-days', type: 'number', min: 1, max: 90, value: 7 });
    const check = h('p', { id: 'edit-check', role: 'status' });
    const comment = h('input', { id: 'publish-comment', required: true, size: 30 });
    const fillParams = () => {
      const r = rules.find((x) => x.id === ruleSel.value);
      paramSel.replaceChildren(...numeric(r).map(([k]) => h('option', { value: k }, k)));
      fillValue();
    };
    const fillValue = () => {
      const r = rules.find((x) => x.id === ruleSel.value);
      value.value = String(r?.params?.[paramSel.value] ?? '');
      void validate();
    };
    const validate = async (): Promise<boolean> => {
      const v = Number(value.value);
      if (value.value === '' || !Number.isFinite(v)) {
        check.className = 'error';
        check.textContent = 'Enter a number.';
        return false;
      }
      candidate = withParam(activeYaml, ruleSel.value, paramSel.value, v);
      const mine = ++checks;
      const res = await fetchJson('/api/v1/rulesets/validate', { yaml: candidate });
      if (mine !== checks) return res.ok; // a later edit is being checked; its answer is the one to show
      check.className = res.ok ? 'muted' : 'error';
      check.textContent = res.ok ? `Valid: ${ruleSel.value}.${paramSel.value} = ${v}` : (res.body.issues ?? []).map((i: { path: string; message: string }) => `${i.path}: ${i.message}`).join('; ') || res.body.message;
      return res.ok;
    };
    ruleSel.addEventListener('change', fillParams);
    paramSel.addEventListener('change', fillValue);
    value.addEventListener('input', () => void validate());
    for (const ev of ['focusin', 'input', 'change']) editor.addEventListener(ev, () => (typing = true));
    const runPreview = async () => {
      if (!(await validate())) return;
      preview.replaceChildren(h('p', { class: 'muted' }, 'Backtesting…'));
      const r = await api<{ candidate: Run; active: Run; from: number; to: number }>('/api/v1/rulesets/backtest', { method: 'POST', body: { yaml: candidate, days: Number(days.value) || 7, limit: 10_000 } });
      const rule = rules.find((x) => x.id === ruleSel.value)!;
      const before = rule.params?.[paramSel.value];
      drawPreview(r, { rule, param: paramSel.value, active: typeof before === 'number' ? before : undefined, candidate: Number(value.value) });
    };
    const publish = async () => {
      if (!(await validate()) || !comment.value.trim()) {
        check.className = 'error';
        check.textContent = comment.value.trim() ? check.textContent : 'Say why in the comment before publishing.';
        return;
      }
      const v = await api<{ version: number }>('/api/v1/rulesets', { method: 'POST', body: { yaml: candidate, comment: comment.value } });
      notice.textContent = `Published version ${v.version}: ${comment.value}`;
      typing = false;
      await page.refresh();
    };
    editor.replaceChildren(
      h('h2', {}, 'Change a threshold or baseline parameter'),
      h(
        'form',
        { class: 'inline', onsubmit: (e: Event) => (e.preventDefault(), void runPreview()) },
        h('label', {}, 'Rule', ruleSel),
        h('label', {}, 'Parameter', paramSel),
        h('label', {}, 'Value', value),
        h('label', {}, 'Preview over the last days', days),
        h('button', { type: 'submit' }, 'Preview'),
      ),
      check,
      h('form', { class: 'inline', onsubmit: (e: Event) => (e.preventDefault(), void publish()) }, h('label', {}, 'Comment', comment), h('button', { type: 'submit', class: 'primary' }, 'Publish')),
    );
    fillParams();
  }

  function drawPreview(r: { candidate: Run; active: Run; from: number; to: number }, change: Change) {
    const ids = [...new Set([...r.active.summary.devices, ...r.candidate.summary.devices].map((d) => d.deviceId))].sort();
    const get = (run: Run, id: string) => run.summary.devices.find((d) => d.deviceId === id);
    const cell = (d: DeviceSummary | undefined) => (d ? `${d.tickets} tickets, ${d.alerts} alerts, ${d.flaps} flaps, first warning ${time(d.firstWarning)}${d.firstCritical ? `, first critical ${time(d.firstCritical)}` : ''}` : 'nothing');
    const tickets = (run: Run) => run.summary.devices.reduce((n, d) => n + d.tickets, 0);
    const changed = ids.filter((id) => JSON.stringify(get(r.active, id)) !== JSON.stringify(get(r.candidate, id)));
    preview.replaceChildren(
      h('h2', {}, 'Preview against the stored history'),
      h('p', { id: 'preview-summary' }, `${time(r.from)} to ${time(r.to)}: active ruleset ${r.active.summary.findings} findings and ${tickets(r.active)} tickets, this change ${r.candidate.summary.findings} findings and ${tickets(r.candidate)} tickets; ${changed.length} device(s) differ.`),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Device'), h('th', {}, 'Active'), h('th', {}, 'With the change'))),
        h('tbody', {}, ...ids.map((id) => h('tr', { 'data-differs': changed.includes(id) }, h('td', {}, `${changed.includes(id) ? '● ' : ''}${id}`), h('td', {}, cell(get(r.active, id))), h('td', {}, cell(get(r.candidate, id))))))),
    );
    const metric = Array.isArray(change.rule.metric) ? change.rule.metric[0] : change.rule.metric;
    const devices = [...new Set([...changed, ...ids])];
    if (!metric || devices.length === 0) return;
    const pick = h('select', { id: 'preview-device' }, ...devices.map((id) => h('option', { value: id }, `${changed.includes(id) ? '● ' : ''}${id}`)));
    const box = h('div');
    pick.addEventListener('change', () => void previewChart(box, r, change, metric, pick.value));
    preview.append(h('h3', {}, `${metric} over the preview window`), h('label', {}, 'Device', pick), box);
    void previewChart(box, r, change, metric, devices[0]!);
  }

  /**
   * The metric of one device over the preview window, with the active and the candidate limit (for a
   * limit on the value itself) and the alerts each ruleset would have raised, as markers.
   */
  async function previewChart(box: HTMLElement, r: { candidate: Run; active: Run; from: number; to: number }, change: Change, metric: string, deviceId: string) {
    const hist = await api<{ series: Record<string, { t: number[]; mean: number[] }> }>(`/api/v1/history?device=${encodeURIComponent(deviceId)}&metrics=${metric}&from=${r.from}&to=${r.to}`);
    const s = hist.series[metric] ?? { t: [], mean: [] };
    const x = s.t.map((t) => t / 1000);
    const data: (number | null)[][] = [x, s.mean];
    const series: uPlot.Series[] = [{}, { label: metric, stroke: '#0969da', width: 1.5 }];
    // Only a threshold's warning or critical is a level on the metric's own axis; other parameters
    // (deviations from a baseline, trend windows) show through the alerts they change.
    const onAxis = change.rule.kind === 'threshold' && (change.param === 'warning' || change.param === 'critical');
    const lines: string[] = [];
    if (onAxis) {
      if (change.active !== undefined) {
        data.push(x.map(() => change.active!));
        series.push({ label: `active ${change.param} ${change.active}`, stroke: '#57606a', dash: [6, 4] });
        lines.push('active');
      }
      data.push(x.map(() => change.candidate));
      series.push({ label: `candidate ${change.param} ${change.candidate}`, stroke: '#cf222e', dash: [2, 2] });
      lines.push('candidate');
    }
    const raised = (run: Run, who: string, colour: string, row: number): Marker[] =>
      run.findings.filter((f) => f.deviceId === deviceId && f.ruleId === change.rule.id && (f.event === 'fire' || f.event === 'escalate')).map((f) => ({ at: f.at / 1000, label: `${who}: ${f.severity}`, colour, row }));
    const markers = [...raised(r.active, 'active', '#57606a', 0), ...raised(r.candidate, 'candidate', '#cf222e', 1)];
    const fig = h('figure', { id: 'preview-chart', 'data-device': deviceId, 'data-lines': lines.join(','), 'data-active-alerts': markers.filter((m) => m.row === 0).length, 'data-candidate-alerts': markers.filter((m) => m.row === 1).length, 'data-points': x.length },
      h('figcaption', {}, `${deviceId}: ${metric}; alerts of rule ${change.rule.id} with the active ruleset (grey, ${markers.filter((m) => m.row === 0).length}) and with the change (red, ${markers.filter((m) => m.row === 1).length}).`));
    box.replaceChildren(fig);
    if (x.length === 0) {
      fig.append(h('p', { class: 'muted' }, 'No stored history for this device and metric in the window.'));
      return;
    }
    new uPlot({ width: chartWidth(preview), height: 240, series, hooks: { draw: [annotate(markers)] } }, data as uPlot.AlignedData, fig);
  }

  async function fetchJson(path: string, body: unknown): Promise<{ ok: boolean; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      return { ok: true, body: await api(path, { method: 'POST', body }) };
    } catch (err) {
      return { ok: false, body: err instanceof ApiError ? { message: err.message, issues: err.body.issues ?? [] } : { message: String(err), issues: [] } };
    }
  }

  const page: Page = {
    busy: () => typing,
    async refresh() {
      const [active, list, stats, bt] = await Promise.all([
        api<{ version: number; name: string; yaml: string; totalPlans: number; plans: { deviceId: string; assetClass: string | null; rules: { ruleId: string; metric: string }[]; skipped: { ruleId: string; reason: string }[] }[] }>('/api/v1/rulesets/active?limit=200'),
        api<{ active: number; versions: Version[] }>('/api/v1/rulesets'),
        api<{ rules: Stat[] }>('/api/v1/rules/stats'),
        api<{ last: LastBacktest | null }>('/api/v1/rulesets/backtest/last'),
      ]);
      activeYaml = active.yaml;
      const rules = (parseDocument(active.yaml).toJS() as { rules: RuleDoc[] }).rules;
      activeBox.replaceChildren(
        h('p', {}, `Active: version ${active.version} (${active.name}), ${rules.length} rules.`),
        h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Rule'), h('th', {}, 'Kind'), h('th', {}, 'Metric'), h('th', {}, 'Fault'), h('th', { class: 'wide' }, 'Parameters'))),
          h('tbody', {}, ...rules.map((r) => h('tr', {}, h('td', {}, r.id), h('td', {}, r.kind), h('td', {}, String(r.metric ?? 'device')), h('td', {}, r.fault), h('td', { class: 'wide' }, describeParams(r.params ?? {})))))),
        h('details', {}, h('summary', {}, `By device and asset class (${active.totalPlans} devices${active.totalPlans > active.plans.length ? `; the first ${active.plans.length} by id` : ''})`),
          h('table', { id: 'plans' }, h('thead', {}, h('tr', {}, h('th', {}, 'Device'), h('th', {}, 'Asset class'), h('th', {}, 'Rules that apply'), h('th', { class: 'wide' }, 'Skipped, and why'))),
            h('tbody', {}, ...active.plans.map((p) => h('tr', {}, h('td', {}, p.deviceId), h('td', {}, p.assetClass ?? 'none'), h('td', {}, String(p.rules.length)), h('td', { class: 'wide' }, p.skipped.map((x) => `${x.ruleId}: ${x.reason}`).join('; ') || '–')))))),
      );
      // The editor is redrawn only when the active version changes, so live refreshes never wipe an edit.
      if (active.version !== drawnVersion) {
        drawnVersion = active.version;
        drawEditor(rules);
      }
      // Per rule, side by side: how its tickets turned out, and how early (and how falsely) it warned in
      // the last backtest against known failures.
      const last = bt.last;
      const ids = [...new Set([...stats.rules.map((x) => x.ruleId), ...(last?.rules.map((x) => x.ruleId) ?? [])])].sort();
      const lead = (r: RuleLead | undefined) => {
        if (!r) return '–';
        const warned = r.leadTimes.filter((l) => l.hours !== null).map((l) => `${l.deviceId} ${l.hours} h`);
        return warned.length > 0 ? `${warned.join(', ')}${warned.length < r.leadTimes.length ? `; ${r.leadTimes.length - warned.length} not warned` : ''}` : 'never warned';
      };
      statsBox.replaceChildren(
        h('h2', {}, 'Precision from ticket outcomes, lead time from the last backtest'),
        h('p', { id: 'backtest-last', class: 'muted' }, last ? `Last backtest against ${last.failures} known failure(s): version ${last.version ?? 'draft'}, history ${time(last.from)} to ${time(last.to)}, run ${time(last.at)}.` : 'No backtest against known failures yet: POST /api/v1/rulesets/backtest with "truth" (devices that failed, and when).'),
        ids.length === 0 ? h('p', { class: 'muted' }, 'No tickets yet.') : h('table', { id: 'precision' }, h('thead', {}, h('tr', {}, ...['Rule', 'Tickets', 'Open', 'Confirmed', 'No fault found', 'False alarm', 'Precision', 'Lead time (backtest)', 'False alarms (backtest)'].map((x) => h('th', {}, x)))),
          h('tbody', {}, ...ids.map((id) => {
            const s = stats.rules.find((x) => x.ruleId === id);
            const b = last?.rules.find((x) => x.ruleId === id);
            const cells = [id, s?.tickets ?? 0, s?.open ?? 0, s?.confirmed ?? 0, s?.no_fault_found ?? 0, s?.false_alarm ?? 0, s?.precision == null ? '–' : `${Math.round(s.precision * 100)}%`, lead(b), b ? `${b.falseAlarms} on ${b.falseAlarmDevices} device(s)` : '–'];
            return h('tr', { 'data-rule': id }, ...cells.map((x) => h('td', {}, String(x))));
          }))),
      );
      versionsBox.replaceChildren(
        h('h2', {}, 'Versions'),
        h('table', { id: 'versions' }, h('thead', {}, h('tr', {}, h('th', {}, 'Version'), h('th', {}, 'When'), h('th', {}, 'Who'), h('th', {}, 'Why'), h('th', {}, 'Diff'), h('th', {}, ''))),
          h('tbody', {}, ...list.versions.map((v) => h('tr', { 'data-version': v.version },
            h('td', {}, `${v.version}${v.version === list.active ? ' (active)' : ''}`), h('td', {}, time(v.createdAt)), h('td', {}, v.author), h('td', {}, v.comment),
            h('td', {}, h('details', {}, h('summary', {}, 'diff'), h('pre', { class: 'diff' }, v.diff))),
            h('td', {}, can.editRules(me) && v.version !== list.active ? h('button', { type: 'button', onclick: () => void api(`/api/v1/rulesets/${v.version}/activate`, { method: 'POST', body: { comment: `rollback to version ${v.version} from the console` } }).then(() => { notice.textContent = `Version ${v.version} is active again.`; return page.refresh(); }) }, `Roll back to ${v.version}`) : null),
          )))),
      );
    },
  };
  return page;
}
