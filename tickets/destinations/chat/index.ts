export { chat, chatBody } from './plugin.ts';
