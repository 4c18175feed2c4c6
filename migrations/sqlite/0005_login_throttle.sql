-- Sign-in attempts per fixed window, by client address and by email. Not tenant data: a
-- sign-in attempt has no account until it succeeds, so this table alone has no account id.
CREATE TABLE login_attempts (
    bucket TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
