-- Each member's count of unread notifications, kept in the transaction of every change
-- (a new notification, one or all marked read), like open_leads. The bell on every page
-- reads it instead of counting, and notifications_unread goes: new notifications are
-- written at one place per member in it, about an eighth of the pages a batch of website
-- leads commits. Marking all read finds the unread ones newest first through
-- notifications_user and stops after this many.
ALTER TABLE users ADD COLUMN unread_notifications INTEGER NOT NULL DEFAULT 0;

UPDATE users SET unread_notifications = (
    SELECT COUNT(*) FROM notifications n
    WHERE n.account_id = users.account_id AND n.user_id = users.id AND n.read_at IS NULL
);

DROP INDEX notifications_unread;
