-- +goose Up
-- An import's plan (gzip-compressed JSON) in parts of at most 256 KiB, so
-- that the job, the commit's check and the pages of rows read it a part at
-- a time: read whole, the plan of a 100,000-row file (4.7 MB) took SQLite
-- 22 MiB of memory to assemble, a fifth of the import's budget (BULK-1).
CREATE TABLE import_plan_parts (
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    part      INTEGER NOT NULL CHECK (part >= 0),
    data      BLOB    NOT NULL,
    PRIMARY KEY (import_id, part)
);
INSERT INTO import_plan_parts (import_id, part, data) SELECT id, 0, plan FROM imports;
ALTER TABLE imports DROP COLUMN plan;

-- +goose Down
ALTER TABLE imports ADD COLUMN plan BLOB NOT NULL DEFAULT x'';
UPDATE imports SET plan = (SELECT CAST(group_concat(data, x'' ORDER BY part) AS BLOB)
    FROM import_plan_parts WHERE import_id = imports.id)
    WHERE id IN (SELECT import_id FROM import_plan_parts);
DROP TABLE import_plan_parts;
