/* dmarc.h - being written */
