/* spfrecord.h - being written */
