// client-core's database worker as an app starts it, for a page that talks to it directly.
import "@notesync/client-core/database-worker";
