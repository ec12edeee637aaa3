-- Failed sign-ins were one row per failure, keyed by what was typed: the
-- login and the email of one account each had their own count, and the
-- count was read before the password was checked and written after, so
-- parallel guesses all saw the same count. Now one counter per subject
-- ('account:<id>', 'login:<typed>' for an unknown login, 'client:<address>'),
-- moved by one upsert that returns the new count before the check.
DROP TABLE login_failures;

CREATE TABLE sign_in_failures (
    subject      text    PRIMARY KEY,
    window_start text    NOT NULL,
    failures     bigint  NOT NULL
);
-- Expired counters are deleted by their window's start.
CREATE INDEX sign_in_failures_window ON sign_in_failures (window_start);
