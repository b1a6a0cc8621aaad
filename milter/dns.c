/* dns.c - being written; see dns.h */
