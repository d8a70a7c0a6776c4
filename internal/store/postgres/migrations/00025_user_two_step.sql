-- +goose Up
-- Whether a user has a second step on is a column of the users row, kept by
-- triggers on the factors, rather than a subquery of every user a page or
-- search reads: on SQLite that subquery, an index probe per user, was a
-- quarter to two fifths of a page's time even with no factor at all. The
-- triggers fire only when a factor comes, goes or is turned on, not at each
-- use of one, and write the row only when the answer changes (by turning it over).
ALTER TABLE users ADD COLUMN two_step BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET two_step = TRUE
    WHERE id IN (SELECT user_id FROM twostep_factors WHERE enabled_at IS NOT NULL);

-- +goose StatementBegin
CREATE FUNCTION note_user_two_step() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    person BIGINT := CASE TG_OP WHEN 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
BEGIN
    UPDATE users SET two_step = NOT two_step WHERE id = person
        AND two_step <> EXISTS (SELECT 1 FROM twostep_factors WHERE user_id = person AND enabled_at IS NOT NULL);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER twostep_factors_note_user_two_step AFTER INSERT OR DELETE OR UPDATE OF enabled_at ON twostep_factors
    FOR EACH ROW EXECUTE FUNCTION note_user_two_step();

-- +goose Down
DROP TRIGGER twostep_factors_note_user_two_step ON twostep_factors;
DROP FUNCTION note_user_two_step();
ALTER TABLE users DROP COLUMN two_step;
