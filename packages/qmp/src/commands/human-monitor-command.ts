import { z } from 'zod';
import { qInt, qStr, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';

export const HumanMonitorCommandArgs = qStruct({ 'command-line': qStr(), 'cpu-index': qInt().optional() });
export type HumanMonitorCommandArgs = z.infer<typeof HumanMonitorCommandArgs>;

/** Runs an HMP command line; the reply is its output text. */
export const humanMonitorCommand = defineCommand({
  name: 'human-monitor-command',
  args: HumanMonitorCommandArgs,
  returns: z.string(),
});
