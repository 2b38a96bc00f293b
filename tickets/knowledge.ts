import { z } from 'zod';
import { type Fault, FaultSchema, type Migration, type Sql, migrateStore } from '../core/index.ts';

export const AdviceSchema = z.strictObject({
  title: z.string().min(1),
  action: z.string().min(1),
  parts: z.array(z.string().min(1)).default([]),
});
export type Advice = z.infer<typeof AdviceSchema>;

/**
 * What a technician should do first for each kind of fault, and the parts worth taking on the visit.
 * Deliberately short: a starting point for the desk, overridable per fault in the server config.
 */
export const KNOWLEDGE_BASE: Readonly<Record<Fault, Advice>> = {
  bearing_wear: {
    title: 'Bearing wear',
    action: 'Schedule a bearing inspection: check envelope spectrum for defect frequencies, listen for noise, check grease condition; replace the bearing before vibration reaches zone D.',
    parts: ['rolling-element bearing (drive end)', 'rolling-element bearing (non-drive end)', 'bearing grease', 'shaft seal'],
  },
  imbalance: {
    title: 'Rotor imbalance',
    action: 'Inspect the rotor for build-up, erosion or a lost balance weight; clean and rebalance in place (1x running speed dominates the spectrum).',
    parts: ['balance weights', 'impeller or fan blade set'],
  },
  misalignment: {
    title: 'Shaft misalignment',
    action: 'Check coupling alignment with a laser tool and soft foot at the feet; realign to the coupling maker’s tolerance (2x running speed and axial vibration point here).',
    parts: ['coupling insert', 'shim kit'],
  },
  lubrication: {
    title: 'Lubrication problem',
    action: 'Check the lubricant level and condition and the relubrication interval; relubricate with the specified grease, without over-greasing.',
    parts: ['specified grease or oil', 'grease nipple', 'oil filter'],
  },
  overheating: {
    title: 'Over-temperature',
    action: 'Safety first: check whether the machine must be stopped. Then check cooling airflow, lubrication, load and the bearing for damage; verify the temperature with a handheld reading.',
    parts: ['bearing grease', 'cooling fan', 'temperature sensor (spare)'],
  },
  vibration: {
    title: 'Vibration above normal',
    action: 'Take a route measurement (velocity spectrum, acceleration envelope) to tell imbalance, misalignment, looseness and bearing wear apart; check mounting bolts and foundation.',
    parts: ['mounting bolts', 'vibration analyser on the visit'],
  },
  sensor_fault: {
    title: 'Sensor fault',
    action: 'The readings are implausible (stuck or spiking), not the machine: check the sensor mounting, cable and connector, then replace the sensor if it still misreads.',
    parts: ['sensor of the same type', 'sensor cable'],
  },
  device_offline: {
    title: 'Device not reporting',
    action: 'Check power and network to the device and its gateway, then the gateway’s state in the console; a machine stopped on purpose can be closed as no fault found.',
    parts: ['network cable', 'fuse for the sensor supply'],
  },
  unspecified: {
    title: 'Customer-reported problem',
    action: 'Call the customer back to confirm the symptom, check the device page for recent readings and alerts, then plan a visit with the parts its equipment type usually needs.',
    parts: [],
  },
};


/** One version of the advice for a fault, as an operator published it. */
export const KnowledgeVersionSchema = z.strictObject({
  fault: FaultSchema,
  version: z.number().int().positive(),
  title: z.string(),
  action: z.string(),
  parts: z.array(z.string()),
  author: z.string(),
  at: z.number().int(),
  comment: z.string(),
});
export type KnowledgeVersion = z.infer<typeof KnowledgeVersionSchema>;

/**
 * The advice per fault as operators edit it through the API: every change is a new version with its
 * author, time and reason, and the newest one counts. A fault nobody edited keeps the config's
 * override, else the shipped entry.
 */
export class KnowledgeStore {
  private constructor(
    private readonly sql: Sql,
    private readonly overrides: Partial<Record<Fault, Advice>>,
  ) {}

  static async open(sql: Sql, overrides: Partial<Record<Fault, Advice>>): Promise<KnowledgeStore> {
    await migrateStore(sql, KNOWLEDGE_MIGRATIONS);
    return new KnowledgeStore(sql, overrides);
  }

  /** The advice that counts now for a fault, and where it comes from. */
  async advice(fault: Fault): Promise<Advice & { source: 'edited' | 'config' | 'shipped'; version: number | null }> {
    const v = await this.latest(fault);
    if (v) return { title: v.title, action: v.action, parts: v.parts, source: 'edited', version: v.version };
    const o = this.overrides[fault];
    return o ? { ...o, source: 'config', version: null } : { ...KNOWLEDGE_BASE[fault], source: 'shipped', version: null };
  }

  async latest(fault: Fault): Promise<KnowledgeVersion | undefined> {
    const row = await this.sql.get<Row>('SELECT * FROM knowledge_version WHERE fault = ? ORDER BY version DESC LIMIT 1', [fault]);
    return row && toVersion(row);
  }

  async versions(fault: Fault): Promise<KnowledgeVersion[]> {
    return (await this.sql.all<Row>('SELECT * FROM knowledge_version WHERE fault = ? ORDER BY version DESC', [fault])).map(toVersion);
  }

  /** Publishes a new version; two editors at once get consecutive versions (the key refuses a second of the same number). */
  async publish(fault: Fault, advice: Advice, author: string, comment: string, at: number): Promise<KnowledgeVersion> {
    return this.sql.tx(async () => {
      const n = ((await this.sql.get<{ v: number | null }>('SELECT MAX(version) AS v FROM knowledge_version WHERE fault = ?', [fault]))?.v ?? 0) + 1;
      await this.sql.run('INSERT INTO knowledge_version (fault, version, title, action, parts, author, at, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [fault, n, advice.title, advice.action, JSON.stringify(advice.parts), author, at, comment]);
      return { fault, version: n, ...advice, author, at, comment };
    });
  }
}

interface Row {
  fault: string;
  version: number;
  title: string;
  action: string;
  parts: string;
  author: string;
  at: number;
  comment: string;
}
const toVersion = (r: Row): KnowledgeVersion => ({ fault: r.fault as Fault, version: Number(r.version), title: r.title, action: r.action, parts: JSON.parse(r.parts) as string[], author: r.author, at: Number(r.at), comment: r.comment });

const KNOWLEDGE_MIGRATIONS: Migration[] = [
  {
    id: 'knowledge/001-initial',
    sqlite: `CREATE TABLE IF NOT EXISTS knowledge_version (fault TEXT NOT NULL, version INTEGER NOT NULL, title TEXT NOT NULL, action TEXT NOT NULL,
        parts TEXT NOT NULL, author TEXT NOT NULL, at INTEGER NOT NULL, comment TEXT NOT NULL, PRIMARY KEY (fault, version));`,
    postgres: `CREATE TABLE knowledge_version (fault TEXT NOT NULL, version INTEGER NOT NULL, title TEXT NOT NULL, action TEXT NOT NULL,
        parts TEXT NOT NULL, author TEXT NOT NULL, at BIGINT NOT NULL, comment TEXT NOT NULL, PRIMARY KEY (fault, version));`,
  },
];
