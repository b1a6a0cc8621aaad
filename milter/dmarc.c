/* dmarc.c - being written; see dmarc.h */
