/* Layout of the register frame saved by the vectors (head.S). */
#define FRAME_X30 240
#define FRAME_SP_EL0 248
#define FRAME_ELR 256
#define FRAME_SPSR 264
#define FRAME_SIZE 272
