// Structured logs on stderr: one line per event, a human-readable message first, then key=value fields.
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function format(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

export function createLogger(name: string, stream: NodeJS.WritableStream = process.stderr): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>): void => {
    const extra = fields ? Object.entries(fields).map(([k, v]) => ` ${k}=${format(v)}`).join('') : '';
    stream.write(`${name}: ${level === 'info' ? '' : `${level}: `}${message}${extra}\n`);
  };
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warning', m, f),
    error: (m, f) => write('error', m, f),
  };
}
