-- Routing rules and named rotations. The rule list is saved whole and read with the
-- settings row routing already locks, so an account without rules reads nothing more.
-- The default rotation ("Everyone") stays in routing_settings; its weights and the
-- availability and first-touch settings sit beside it. Named rotations keep their own
-- round-robin turns (rotation_turns); the default's stay in users.last_routed_seq.

ALTER TABLE routing_settings ADD COLUMN rules TEXT NOT NULL DEFAULT '[]';
-- Bumped by each save of the rule list (If-Match on PUT /routing/rules).
ALTER TABLE routing_settings ADD COLUMN rules_version BIGINT NOT NULL DEFAULT 0;
-- JSON object user id -> weight, for picks whose weight is not 100.
ALTER TABLE routing_settings ADD COLUMN weights TEXT NOT NULL DEFAULT '{}';
ALTER TABLE routing_settings ADD COLUMN if_none_available TEXT NOT NULL DEFAULT 'anyone_active';
ALTER TABLE routing_settings ADD COLUMN first_touch_minutes BIGINT;
ALTER TABLE routing_settings ADD COLUMN sla_action TEXT NOT NULL DEFAULT 'reassign';
ALTER TABLE routing_settings ADD COLUMN max_hops BIGINT NOT NULL DEFAULT 2;

CREATE TABLE rotations (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    strategy TEXT NOT NULL CHECK (strategy IN ('round_robin', 'balanced')),
    -- JSON array of {"user_id", "weight"}, in the order saved; empty = the whole team
    members TEXT NOT NULL DEFAULT '[]',
    if_none_available TEXT NOT NULL DEFAULT 'anyone_active',
    first_touch_minutes BIGINT,
    sla_action TEXT NOT NULL DEFAULT 'reassign',
    max_hops BIGINT NOT NULL DEFAULT 2,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX rotations_name ON rotations (account_id, name);

CREATE TABLE rotation_turns (
    account_id TEXT NOT NULL,
    rotation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    last_routed_seq BIGINT NOT NULL,
    PRIMARY KEY (account_id, rotation_id, user_id)
);

ALTER TABLE leads ADD COLUMN country TEXT;
ALTER TABLE leads ADD COLUMN company_size BIGINT;
-- What a routed lead went through, kept as it was decided (names too: a rotation or rule
-- renamed or deleted later does not rewrite history). NULL rotation: the default.
ALTER TABLE leads ADD COLUMN routing_rotation_id TEXT;
ALTER TABLE leads ADD COLUMN routing_rotation_name TEXT;
ALTER TABLE leads ADD COLUMN routing_rule_id TEXT;
ALTER TABLE leads ADD COLUMN routing_rule_name TEXT;
