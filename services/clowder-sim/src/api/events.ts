/** Extraction events Clowder would publish (test hook): counts per routing key and the most recent ones. */
export interface EmittedEvent {
  routingKey: string;
  id: string;
  datasetId?: string;
  at: number;
}

export class EventLog {
  readonly counts = new Map<string, number>();
  private readonly recent: EmittedEvent[] = [];

  constructor(private readonly keep = 1000) {}

  emit(e: EmittedEvent): void {
    this.counts.set(e.routingKey, (this.counts.get(e.routingKey) ?? 0) + 1);
    this.recent.push(e);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
  }

  latest(limit: number): EmittedEvent[] {
    return this.recent.slice(-limit);
  }
}
