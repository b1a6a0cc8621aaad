/* spfrecord.c - being written; see spfrecord.h */
