import { z } from 'zod';
import { DurationSchema } from '../../../core/index.ts';
import { postOnce } from '../http.ts';
import { type EventSummary, summarise } from '../describe.ts';
import { defineDestination } from '../types.ts';

export const ChatDestinationConfigSchema = z.strictObject({
  /** The incoming-webhook URL the chat service gave; it is the credential, so it comes from the environment. */
  url: z.url({ protocol: /^https?$/ }).max(2000),
  /** `slack`: Slack's `text` and `blocks` (Mattermost and Rocket.Chat take it too); `teams`: a MessageCard. */
  style: z.enum(['slack', 'teams']).default('slack'),
  timeout: DurationSchema.prefault('10s'),
});

/** The JSON body a Slack- or Teams-style incoming webhook takes. */
export function chatBody(style: 'slack' | 'teams', s: EventSummary): unknown {
  const facts = s.facts.map(([k, v]) => `*${k}:* ${v}`).join('\n');
  if (style === 'slack') {
    return {
      text: s.headline,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `*<${s.link}|${escapeSlack(s.headline)}>*` } },
        { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(facts) } },
        ...(s.action ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `Suggested action: ${escapeSlack(s.action)}` }] }] : []),
      ],
    };
  }
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: s.headline,
    themeColor: s.colour,
    title: s.headline,
    sections: [{ facts: s.facts.map(([name, value]) => ({ name, value })), ...(s.action ? { text: `Suggested action: ${s.action}` } : {}) }],
    potentialAction: [{ '@type': 'OpenUri', name: 'Open in Vigil', targets: [{ os: 'default', uri: s.link }] }],
  };
}

// Slack reads <, > and & as markup.
const escapeSlack = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A message in a chat channel for each event: Slack-, Mattermost- or Teams-style incoming webhooks. */
export const chat = defineDestination({
  kind: 'chat',
  summary: 'A message to a Slack- or Teams-style incoming webhook',
  config: ChatDestinationConfigSchema,
  create: (c, deps) => ({
    label: `chat webhook ${new URL(c.url).host}`,
    authHint: "check the incoming webhook's URL (it may have been revoked)",
    async send(ev, signal) {
      const body = JSON.stringify(chatBody(c.style, summarise(ev.event, deps.baseUrl)));
      return postOnce(c.url, { headers: { 'content-type': 'application/json', 'user-agent': 'vigil-chat/1', 'idempotency-key': ev.idempotencyKey }, body }, { timeoutMs: c.timeout, signal, now: () => deps.clock.now(), reason: true });
    },
  }),
});
