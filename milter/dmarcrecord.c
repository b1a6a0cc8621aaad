/* dmarcrecord.c - being written; see dmarcrecord.h */
