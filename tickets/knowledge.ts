import { z } from 'zod';
import type { Fault } from '../core/index.ts';

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

export function adviceFor(fault: Fault, overrides: Partial<Record<Fault, Advice>>): Advice {
  return overrides[fault] ?? KNOWLEDGE_BASE[fault];
}
