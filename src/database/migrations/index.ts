import type { MigrationInterface } from 'typeorm';
import { Conversations1795605533457 } from './1795605533457-Conversations';
import { AppendChatMessages1795606617000 } from './1795606617000-AppendChatMessages';
import { Consent1795609825004 } from './1795609825004-Consent';
import { CapturedData1795611954117 } from './1795611954117-CapturedData';
import { RetentionHolds1795614251604 } from './1795614251604-RetentionHolds';
import { Purge1795614481802 } from './1795614481802-Purge';
import { EraseMessageBodies1795614845214 } from './1795614845214-EraseMessageBodies';
import { EraseCallMetadata1795616188956 } from './1795616188956-EraseCallMetadata';
import { IdentityNamespaces1796193206950 } from './1796193206950-IdentityNamespaces';
import { DeclaredClientLocale1796193257838 } from './1796193257838-DeclaredClientLocale';
import { UploadReservations1796196957123 } from './1796196957123-UploadReservations';

/**
 * Every migration, oldest first. `npm run migration:generate -- <Name>` adds
 * new files here; the schema test fails when entities and migrations disagree.
 */
export const MIGRATIONS: (new () => MigrationInterface)[] = [Conversations1795605533457, AppendChatMessages1795606617000, Consent1795609825004, CapturedData1795611954117, RetentionHolds1795614251604, Purge1795614481802, EraseMessageBodies1795614845214, EraseCallMetadata1795616188956, IdentityNamespaces1796193206950, DeclaredClientLocale1796193257838, UploadReservations1796196957123];
