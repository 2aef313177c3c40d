// The `mig` subcommands that work on files: entry points the CLI calls with its argv and streams.
export { runAnalyze } from './analyze/run-analyze.js';
export { ANALYZE_HELP } from './analyze/analyze-args.js';
export { StreamAnalysis, type AnalyzeOptions } from './analyze/stream-analysis.js';
export type * from './analyze/analysis-result.js';
export { EXIT_FAILED, EXIT_IO, EXIT_OK, EXIT_USAGE, type ToolIo } from './tool-io.js';
export { runReport, type ReportSummary } from './report/run-report.js';
export { REPORT_HELP } from './report/report-args.js';
export { parseMigrationRecord, RecordError, type MigrationTimeline, type Sample, type PassMark, type Downtime } from './report/migration-record.js';
