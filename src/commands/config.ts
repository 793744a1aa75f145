import {BaseCommand} from '../cli/base-command.js'
import {describeConfig, type ConfigReport} from '../core/config/describe.js'
import {renderPairs} from '../ui/table.js'

export default class ConfigCommand extends BaseCommand<typeof ConfigCommand> {
  static summary = 'Show the configuration wbc resolved: where it came from and every setting, passwords masked.'
  static examples = [
    {description: 'Show what wbc would use here', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Check an ODAC deployment’s settings as JSON', command: '<%= config.bin %> <%= command.id %> --config /srv/app/odac.json --json'},
  ]

  async run(): Promise<ConfigReport> {
    const report = describeConfig(this.loadWbcConfig())
    if (!this.jsonEnabled()) this.print(renderConfig(report))
    return report
  }
}

function renderConfig(report: ConfigReport): string {
  const {ipc, buffer} = report.config
  const redis = ipc.driver === 'redis' ? [['redis', typeof ipc.redis === 'string' ? ipc.redis : JSON.stringify(ipc.redis)] as [string, string]] : []
  return renderPairs([
    ['file', report.file ? `${report.file} (${report.format}, ${report.source})` : '(none: built-in defaults)'],
    ['overrides', report.overrides.join(', ') || '(none)'],
    ['driver', ipc.driver],
    ...redis,
    ['prefix', ipc.prefix],
    ['socket', ipc.socket],
    ...report.connections.map(({name, dialect, target}) => [`connection ${name}`, `${target} (${dialect})`] as [string, string]),
    ['flushInterval', `${buffer.flushInterval} ms`],
    ['checkpointInterval', `${buffer.checkpointInterval} ms`],
    ['maxQueueSize', buffer.maxQueueSize],
    ['insertBatchSize', buffer.insertBatchSize],
    ['statementTimeoutMs', `${buffer.statementTimeoutMs} ms`],
    ['primaryKey', buffer.primaryKey],
    ['checkpointPath', buffer.checkpointPath],
  ])
}
