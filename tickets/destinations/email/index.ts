export { email, classifySmtp } from './plugin.ts';
export { mailBodies } from './message.ts';
