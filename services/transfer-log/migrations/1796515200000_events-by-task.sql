-- Up Migration

-- Contract version 2 of file.transferred, file.deleted and file.ingested carries
-- a task's chunk of files and no upload id: a file's lineage finds them, like the
-- task's task.submitted, by task id among the events that name no upload. This
-- index serves both (it replaces the one that served task.submitted alone).
CREATE INDEX events_task ON events (task_id) WHERE upload_id IS NULL;
DROP INDEX events_task_submitted;

-- Down Migration

CREATE INDEX events_task_submitted ON events (task_id) WHERE type = 'task.submitted';
DROP INDEX events_task;
