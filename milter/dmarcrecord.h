/* dmarcrecord.h - being written */
