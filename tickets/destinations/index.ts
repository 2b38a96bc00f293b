export { TicketOutputs } from './outputs.ts';
export { DESTINATIONS, DestinationEntrySchema, type DestinationEntry, destinationOf } from './registry.ts';
export { wants, EventFilterShape, type EventFilter } from './filter.ts';
export { summarise, type EventSummary } from './describe.ts';
export { defineDestination, type Destination, type DestinationDeps, type DestinationPlugin, type OutgoingEvent } from './types.ts';
