// The Reports screen (supervisors and admins): a workgroup's numbers after the fact, per hour,
// day or week of its time zone, narrowed to a queue or an agent; summary tiles, two small bar
// charts (plain SVG, each with a text alternative; the table below holds every number), and
// tables per period, per agent and time per presence, each downloadable as CSV. What each
// number means: docs/metrics.md, "Reports".

import { useEffect, useState } from "preact/hooks";

import { message as errorText } from "./PastChats";
import {
  bars,
  COLUMNS,
  defaultRange,
  formatSecs,
  labelOf,
  rangeProblem,
  show,
  showColumn,
  SUMMARY,
} from "./reports";
import {
  ReportsApi,
  type Granularity,
  type Report,
  type ReportQuery,
  type ReportTable,
  type SupervisedWorkgroup,
} from "./reportsApi";
import "./reports.css";

const PRESENCES = ["available", "away", "busy", "offline"] as const;

export function Reports() {
  const [workgroups, setWorkgroups] = useState<SupervisedWorkgroup[] | null>(null);
  const [slug, setSlug] = useState("");
  const initial = defaultRange();
  const [from, setFrom] = useState(initial.from);
  const [to, setTo] = useState(initial.to);
  const [granularity, setGranularity] = useState<Granularity>("day");
  const [queue, setQueue] = useState<number | null>(null);
  const [agent, setAgent] = useState<number | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [asked, setAsked] = useState<ReportQuery | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    ReportsApi.workgroups()
      .then((list) => {
        setWorkgroups(list);
        if (list.length) setSlug(list[0].slug);
      })
      .catch((e) => setError(`Could not read your workgroups: ${errorText(e)}`));
  }, []);

  const problem = rangeProblem(from, to, granularity);

  const load = async (q: ReportQuery) => {
    setBusy(true);
    setError("");
    try {
      setReport(await ReportsApi.report(q));
      setAsked(q);
    } catch (e) {
      setError(`Could not make the report: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const chooseWorkgroup = (value: string) => {
    setSlug(value);
    // Queues and agents are the workgroup's own.
    setQueue(null);
    setAgent(null);
    setReport(null);
  };

  const submit = (e: Event) => {
    e.preventDefault();
    if (!slug || problem) return;
    void load({ slug, from, to, granularity, queue, agent });
  };

  return (
    <section class="reports" aria-labelledby="reports-heading">
      <h2 id="reports-heading">Reports</h2>
      {workgroups !== null && workgroups.length === 0 && (
        <p class="muted">You supervise no workgroup yet.</p>
      )}
      <form class="reports-controls" onSubmit={submit}>
        <label>
          Workgroup
          <select value={slug} onChange={(e) => chooseWorkgroup(e.currentTarget.value)}>
            {(workgroups ?? []).map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Queue
          <select
            value={queue === null ? "" : String(queue)}
            onChange={(e) => setQueue(e.currentTarget.value ? Number(e.currentTarget.value) : null)}
            disabled={!report || report.workgroup.slug !== slug}
          >
            <option value="">All queues</option>
            {(report?.queues ?? []).map((q) => (
              <option key={q.id} value={String(q.id)}>
                {q.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Agent
          <select
            value={agent === null ? "" : String(agent)}
            onChange={(e) => setAgent(e.currentTarget.value ? Number(e.currentTarget.value) : null)}
            disabled={!report || report.workgroup.slug !== slug}
          >
            <option value="">Everyone</option>
            {(report?.members ?? []).map((m) => (
              <option key={m.user_id} value={String(m.user_id)}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} required />
        </label>
        <label>
          To
          <input type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} required />
        </label>
        <label>
          By
          <select
            value={granularity}
            onChange={(e) => setGranularity(e.currentTarget.value as Granularity)}
          >
            <option value="hour">Hour</option>
            <option value="day">Day</option>
            <option value="week">Week</option>
          </select>
        </label>
        <button type="submit" disabled={!slug || !!problem || busy}>
          {busy ? "Working…" : "Show"}
        </button>
      </form>
      {problem && <p class="muted" role="status">{problem}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {report && asked && <ReportView report={report} query={asked} />}
    </section>
  );
}

function ReportView({ report, query }: { report: Report; query: ReportQuery }) {
  const zone =
    report.timezone_source === "utc"
      ? "UTC (the workgroup has no business hours' time zone)"
      : report.timezone;
  const scope = [
    report.queue !== null ? `queue ${report.queues.find((q) => q.id === report.queue)?.name ?? ""}` : "",
    report.agent !== null ? `agent ${report.members.find((m) => m.user_id === report.agent)?.name ?? ""}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  const labels = report.rows.map((r) => r.period);
  return (
    <div class="report">
      <p class="muted" data-testid="report-scope">
        {report.workgroup.name}
        {scope ? ` (${scope})` : ""}, {report.from} to {report.to}, by {report.granularity}; times
        in {zone}. Service level target {report.settings.sl_target_secs} s; first-contact window{" "}
        {report.settings.fcr_window_hours} h.
      </p>
      <dl class="report-tiles">
        {SUMMARY.map((key) => (
          <div key={key} class="report-tile">
            <dt>{labelOf(key)}</dt>
            <dd data-testid={`total-${key}`}>{showColumn(key, report.total)}</dd>
          </div>
        ))}
      </dl>
      <div class="report-charts">
        <BarChart
          title="Requests per period"
          labels={labels}
          values={report.rows.map((r) => r.requests)}
          format={(v) => String(v)}
        />
        <BarChart
          title="Service level per period"
          labels={labels}
          values={report.rows.map((r) => r.service_level)}
          max={1}
          format={(v) => show("rate", v)}
        />
      </div>
      <TableBlock title="By period" query={query} table="periods">
        <table class="report-table">
          <thead>
            <tr>
              <th scope="col">Period</th>
              {COLUMNS.map((c) => (
                <th key={c.key} scope="col">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.rows.map((row) => (
              <tr key={row.start}>
                <th scope="row">{row.period}</th>
                {COLUMNS.map((c) => (
                  <td key={c.key}>{show(c.kind, row[c.key])}</td>
                ))}
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">Total</th>
              {COLUMNS.map((c) => (
                <td key={c.key}>{show(c.kind, report.total[c.key])}</td>
              ))}
            </tr>
          </tfoot>
        </table>
      </TableBlock>
      <TableBlock title="By agent" query={query} table="agents">
        <table class="report-table">
          <thead>
            <tr>
              <th scope="col">Agent</th>
              {COLUMNS.map((c) => (
                <th key={c.key} scope="col">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.agents.map((row) => (
              <tr key={row.user_id}>
                <th scope="row">{row.name}</th>
                {COLUMNS.map((c) => (
                  <td key={c.key}>{show(c.kind, row[c.key])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </TableBlock>
      <TableBlock title="Time per presence" query={query} table="presence">
        <table class="report-table">
          <thead>
            <tr>
              <th scope="col">Agent</th>
              {PRESENCES.map((p) => (
                <th key={p} scope="col">
                  {p[0].toUpperCase() + p.slice(1)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.presence.map((row) => (
              <tr key={row.user_id}>
                <th scope="row">{row.name}</th>
                {PRESENCES.map((p) => (
                  <td key={p}>{formatSecs(row[`${p}_secs`])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </TableBlock>
    </div>
  );
}

function TableBlock(props: {
  title: string;
  query: ReportQuery;
  table: ReportTable;
  children: preact.ComponentChildren;
}) {
  const id = `report-${props.table}-heading`;
  return (
    <section class="report-block" aria-labelledby={id}>
      <div class="report-block-head">
        <h3 id={id}>{props.title}</h3>
        <a href={ReportsApi.csvUrl(props.query, props.table)} download data-testid={`csv-${props.table}`}>
          Download CSV
        </a>
      </div>
      <div class="report-scroll">{props.children}</div>
    </section>
  );
}

const CHART_W = 480;
const CHART_H = 120;

/** Bars from 0; each bar has its value as a tooltip, the figure a text summary. */
function BarChart(props: {
  title: string;
  labels: string[];
  values: (number | null)[];
  max?: number;
  format: (v: number) => string;
}) {
  const heights = bars(props.values, props.max);
  const n = Math.max(props.values.length, 1);
  const step = CHART_W / n;
  const known = props.values.filter((v): v is number => v !== null);
  const top = known.length ? Math.max(...known) : null;
  const summary =
    top === null
      ? `${props.title}: no values.`
      : `${props.title}: ${props.values.length} periods, highest ${props.format(top)}.`;
  return (
    <figure class="report-chart">
      <svg viewBox={`0 0 ${CHART_W} ${CHART_H}`} role="img" aria-label={summary} preserveAspectRatio="none">
        {heights.map((h, i) =>
          h === null ? null : (
            <rect
              key={i}
              x={i * step + step * 0.1}
              width={Math.max(step * 0.8, 0.5)}
              y={CHART_H - h * CHART_H}
              height={h * CHART_H}
            >
              <title>{`${props.labels[i]}: ${props.format(props.values[i] as number)}`}</title>
            </rect>
          ),
        )}
      </svg>
      <figcaption>{props.title}</figcaption>
    </figure>
  );
}
