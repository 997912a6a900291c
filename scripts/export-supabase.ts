/** `npm run export:supabase`: writes supabase/migrations/ from migrations/committed/. */
import { writeSupabaseExport } from './lib/supabase-export.js';

writeSupabaseExport();
